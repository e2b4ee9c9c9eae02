//! Reservation commands (Base 2.0 "Reservation Acquire command",
//! "Reservation Register command", "Reservation Release command",
//! "Reservation Report command"; reservations themselves are in
//! "Reservations").
//!
//! Each command is a value with its Command Dword 10 (and 11) and, for
//! register / acquire / release, its data buffer of reservation keys. `parse`
//! goes the other way, for a simulated controller. NVMe registrations belong
//! to the host (its Host Identifier), not to one controller or path: a host
//! registers once per namespace, through any controller.

use crate::error::{Error, Result};
use crate::field::{self, bits, put, u64_at};

/// Reservation types (Base 2.0 "Reservation Types"), the RTYPE
/// field of acquire / release and of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ReservationType {
    /// 1h: Write Exclusive.
    WriteExclusive,
    /// 2h: Exclusive Access.
    ExclusiveAccess,
    /// 3h: Write Exclusive - Registrants Only.
    WriteExclusiveRegistrantsOnly,
    /// 4h: Exclusive Access - Registrants Only.
    ExclusiveAccessRegistrantsOnly,
    /// 5h: Write Exclusive - All Registrants.
    WriteExclusiveAllRegistrants,
    /// 6h: Exclusive Access - All Registrants.
    ExclusiveAccessAllRegistrants,
}

impl ReservationType {
    /// Every type, in code order.
    pub const ALL: [ReservationType; 6] = [
        ReservationType::WriteExclusive,
        ReservationType::ExclusiveAccess,
        ReservationType::WriteExclusiveRegistrantsOnly,
        ReservationType::ExclusiveAccessRegistrantsOnly,
        ReservationType::WriteExclusiveAllRegistrants,
        ReservationType::ExclusiveAccessAllRegistrants,
    ];

    /// The type with this code; `None` for 0 (no reservation) and 7h-FFh.
    pub fn from_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code).checked_sub(1)?).copied()
    }

    /// The type's code.
    pub const fn code(self) -> u8 {
        match self {
            ReservationType::WriteExclusive => 1,
            ReservationType::ExclusiveAccess => 2,
            ReservationType::WriteExclusiveRegistrantsOnly => 3,
            ReservationType::ExclusiveAccessRegistrantsOnly => 4,
            ReservationType::WriteExclusiveAllRegistrants => 5,
            ReservationType::ExclusiveAccessAllRegistrants => 6,
        }
    }
}

/// RTYPE as a byte: 0 for "none".
pub(crate) fn rtype_code(rtype: Option<ReservationType>) -> u8 {
    rtype.map_or(0, ReservationType::code)
}

/// RTYPE from a byte: 0 is "none", 1h-6h a type, anything else invalid.
pub(crate) fn rtype_from(code: u8, offset: usize) -> Result<Option<ReservationType>> {
    if code == 0 {
        return Ok(None);
    }
    ReservationType::from_code(code)
        .map(Some)
        .ok_or(Error::Invalid {
            field: "RTYPE",
            offset,
            value: u64::from(code),
        })
}

/// Defines a 3-bit action field enum with its codes.
macro_rules! action {
    ($(#[$doc:meta])* $name:ident, $field:literal { $($(#[$vdoc:meta])* $variant:ident = $code:literal,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)*
        }

        impl $name {
            /// The action's code.
            pub const fn code(self) -> u8 {
                match self { $($name::$variant => $code,)* }
            }

            fn from_cdw10(cdw10: u32) -> Result<Self> {
                match bits(cdw10, 0, 0x7) {
                    $($code => Ok($name::$variant),)*
                    other => Err(Error::Invalid { field: $field, offset: 0, value: u64::from(other) }),
                }
            }
        }
    };
}

action!(
    /// RREGA, Reservation Register Action (CDW10 bits 2:0).
    RegisterAction, "RREGA" {
        /// Register a reservation key (CRKEY ignored).
        Register = 0,
        /// Unregister the key (NRKEY ignored).
        Unregister = 1,
        /// Replace CRKEY with NRKEY.
        Replace = 2,
    }
);

action!(
    /// RACQA, Reservation Acquire Action (CDW10 bits 2:0).
    AcquireAction, "RACQA" {
        /// Acquire a reservation.
        Acquire = 0,
        /// Preempt the holder identified by PRKEY.
        Preempt = 1,
        /// Preempt and abort the preempted hosts' commands.
        PreemptAndAbort = 2,
    }
);

action!(
    /// RRELA, Reservation Release Action (CDW10 bits 2:0).
    ReleaseAction, "RRELA" {
        /// Release the reservation this host holds.
        Release = 0,
        /// Clear the reservation and every registration.
        Clear = 1,
    }
);

/// CPTPL, Change Persist Through Power Loss State (Register CDW10 bits
/// 31:30).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cptpl {
    /// 00b: leave PTPL as it is.
    NoChange,
    /// 10b: reservations and registrations are released on power loss.
    Clear,
    /// 11b: they persist across power loss. Linux `nvme_pr_register()`
    /// always asks for this.
    Persist,
}

impl Cptpl {
    /// The field's code.
    pub const fn code(self) -> u8 {
        match self {
            Cptpl::NoChange => 0,
            Cptpl::Clear => 2,
            Cptpl::Persist => 3,
        }
    }
}

/// IEKEY, Ignore Existing Key (CDW10 bit 3 of register, acquire, release).
const IEKEY: u32 = 1 << 3;

fn cdw10(action: u8, iekey: bool, rtype: u8) -> u32 {
    u32::from(action & 0x7) | if iekey { IEKEY } else { 0 } | (u32::from(rtype) << 8)
}

fn rtype_of(cdw10: u32) -> u8 {
    let [_, rtype, ..] = cdw10.to_le_bytes();
    rtype
}

/// Reads the two keys of a 16-byte data buffer.
fn two_keys(data: &[u8], first: &'static str, second: &'static str) -> Result<(u64, u64)> {
    Ok((u64_at(data, 0, first)?, u64_at(data, 8, second)?))
}

/// Writes keys at the start of `buf`.
fn emit_keys(buf: &mut [u8], keys: &[u64]) -> Result<()> {
    field::check_out(buf, keys.len().saturating_mul(8))?;
    for (i, key) in keys.iter().enumerate() {
        put(buf, i.saturating_mul(8), &key.to_le_bytes())?;
    }
    Ok(())
}

/// Reservation Register (I/O opcode 0Dh).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReservationRegister {
    /// What to do.
    pub action: RegisterAction,
    /// Ignore Existing Key: do not check CRKEY (registration "and ignore
    /// existing key", used to take over a stale registration).
    pub iekey: bool,
    /// Change of the Persist Through Power Loss state.
    pub cptpl: Cptpl,
    /// Current Reservation Key.
    pub crkey: u64,
    /// New Reservation Key.
    pub nrkey: u64,
}

impl ReservationRegister {
    /// I/O command opcode.
    pub const OPCODE: u8 = 0x0D;
    /// Length of the data buffer: CRKEY, NRKEY.
    pub const DATA_LEN: usize = 16;

    /// Command Dword 10.
    pub fn cdw10(&self) -> u32 {
        cdw10(self.action.code(), self.iekey, 0) | (u32::from(self.cptpl.code()) << 30)
    }

    /// Writes CRKEY and NRKEY to the start of `buf`.
    pub fn emit_data(&self, buf: &mut [u8]) -> Result<()> {
        emit_keys(buf, &[self.crkey, self.nrkey])
    }

    /// Decodes the command from CDW10 and its data buffer.
    pub fn parse(cdw10: u32, data: &[u8]) -> Result<Self> {
        let cptpl = match bits(cdw10, 30, 0x3) {
            0 => Cptpl::NoChange,
            2 => Cptpl::Clear,
            3 => Cptpl::Persist,
            other => {
                return Err(Error::Invalid {
                    field: "CPTPL",
                    offset: 0,
                    value: u64::from(other),
                })
            }
        };
        let (crkey, nrkey) = two_keys(data, "CRKEY", "NRKEY")?;
        Ok(ReservationRegister {
            action: RegisterAction::from_cdw10(cdw10)?,
            iekey: cdw10 & IEKEY != 0,
            cptpl,
            crkey,
            nrkey,
        })
    }
}

/// Reservation Acquire (I/O opcode 11h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReservationAcquire {
    /// What to do.
    pub action: AcquireAction,
    /// Ignore Existing Key.
    pub iekey: bool,
    /// The reservation type to acquire (or to leave in place after a
    /// preempt).
    pub rtype: ReservationType,
    /// Current Reservation Key: this host's key.
    pub crkey: u64,
    /// Preempt Reservation Key: the key to preempt (ignored for acquire).
    pub prkey: u64,
}

impl ReservationAcquire {
    /// I/O command opcode.
    pub const OPCODE: u8 = 0x11;
    /// Length of the data buffer: CRKEY, PRKEY.
    pub const DATA_LEN: usize = 16;

    /// Command Dword 10.
    pub fn cdw10(&self) -> u32 {
        cdw10(self.action.code(), self.iekey, self.rtype.code())
    }

    /// Writes CRKEY and PRKEY to the start of `buf`.
    pub fn emit_data(&self, buf: &mut [u8]) -> Result<()> {
        emit_keys(buf, &[self.crkey, self.prkey])
    }

    /// Decodes the command from CDW10 and its data buffer.
    pub fn parse(cdw10: u32, data: &[u8]) -> Result<Self> {
        // Acquire needs a type; 0 ("none") is as invalid as 7h-FFh here.
        let rtype = rtype_from(rtype_of(cdw10), 0)?.ok_or(Error::Invalid {
            field: "RTYPE",
            offset: 0,
            value: 0,
        })?;
        let (crkey, prkey) = two_keys(data, "CRKEY", "PRKEY")?;
        Ok(ReservationAcquire {
            action: AcquireAction::from_cdw10(cdw10)?,
            iekey: cdw10 & IEKEY != 0,
            rtype,
            crkey,
            prkey,
        })
    }
}

/// Reservation Release (I/O opcode 15h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReservationRelease {
    /// What to do.
    pub action: ReleaseAction,
    /// Ignore Existing Key.
    pub iekey: bool,
    /// The type of the reservation being released; it must match the one
    /// held. `None` (0) is fine for [`ReleaseAction::Clear`], which ignores
    /// it.
    pub rtype: Option<ReservationType>,
    /// Current Reservation Key.
    pub crkey: u64,
}

impl ReservationRelease {
    /// I/O command opcode.
    pub const OPCODE: u8 = 0x15;
    /// Length of the data buffer: CRKEY.
    pub const DATA_LEN: usize = 8;

    /// Command Dword 10.
    pub fn cdw10(&self) -> u32 {
        cdw10(self.action.code(), self.iekey, rtype_code(self.rtype))
    }

    /// Writes CRKEY to the start of `buf`.
    pub fn emit_data(&self, buf: &mut [u8]) -> Result<()> {
        emit_keys(buf, &[self.crkey])
    }

    /// Decodes the command from CDW10 and its data buffer.
    pub fn parse(cdw10: u32, data: &[u8]) -> Result<Self> {
        Ok(ReservationRelease {
            action: ReleaseAction::from_cdw10(cdw10)?,
            iekey: cdw10 & IEKEY != 0,
            rtype: rtype_from(rtype_of(cdw10), 0)?,
            crkey: u64_at(data, 0, "CRKEY")?,
        })
    }
}

/// Reservation Report (I/O opcode 0Eh): CDW10 NUMD (0's based dword count),
/// CDW11 bit 0 EDS (extended data structure, 128-bit host identifiers).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReservationReport {
    /// Number of dwords to transfer, 0's based.
    pub numd: u32,
    /// Extended Data Structure: return the 64-byte registrant format with
    /// 128-bit host identifiers (required when the host ID is 128-bit, as
    /// on fabrics).
    pub eds: bool,
}

impl ReservationReport {
    /// I/O command opcode.
    pub const OPCODE: u8 = 0x0E;

    /// Reads `len` bytes; `len` must be a non-zero multiple of four.
    pub fn new(len: u32, eds: bool) -> Result<Self> {
        Ok(ReservationReport {
            numd: field::numd(len)?,
            eds,
        })
    }

    /// Bytes the command transfers.
    pub fn transfer_len(&self) -> u64 {
        field::numd_len(self.numd)
    }

    /// Command Dword 10.
    pub fn cdw10(&self) -> u32 {
        self.numd
    }

    /// Command Dword 11.
    pub fn cdw11(&self) -> u32 {
        u32::from(self.eds)
    }

    /// Decodes CDW10 and CDW11 (reserved bits of CDW11 are dropped).
    pub fn parse(cdw10: u32, cdw11: u32) -> Self {
        ReservationReport {
            numd: cdw10,
            eds: cdw11 & 1 != 0,
        }
    }
}

#[cfg(test)]
#[path = "reservation_tests.rs"]
mod tests;
