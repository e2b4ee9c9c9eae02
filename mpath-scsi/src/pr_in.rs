//! PERSISTENT RESERVE IN parameter data (SPC-4 6.16.2-6.16.5), one layout
//! per service action. The caller knows which action it sent, so it picks
//! the layout: [`PrInRepr::parse_bytes`] takes the action.
//!
//! READ KEYS and READ FULL STATUS report an ADDITIONAL LENGTH that is not
//! cut down to the allocation length (SPC-4 6.16.2), so a short buffer is
//! reported as `Truncated` and [`PrIn::required_len`] says how much to ask
//! for next time.

use crate::error::WireError;
use crate::pr::{parse_scope_type, scope_type_byte, PrInAction, PrType};
use crate::transport_id::TransportId;
use crate::wire::{
    get_be16, get_be32, get_be64, get_range, get_u8, len_u32, need, put, room, usize_from,
    write_at, zero, List, WireItem,
};

const HEADER: usize = 8;
/// REPORT CAPABILITIES is always 8 bytes (SPC-4 6.16.4, LENGTH = 0008h).
const CAPABILITIES_LEN: usize = 8;
/// READ RESERVATION with a reservation: ADDITIONAL LENGTH 10h.
const RESERVATION_LEN: usize = 0x10;
const FULL_STATUS_HEADER: usize = 24;

bitflags::bitflags! {
    /// PERSISTENT RESERVATION TYPE MASK (SPC-4 6.16.4, bytes 4-5): the
    /// reservation types the device server supports.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
    pub struct PrTypeMask: u16 {
        /// WR_EX_AR: Write Exclusive - All Registrants.
        const WR_EX_AR = 0x8000;
        /// EX_AC_RO: Exclusive Access - Registrants Only.
        const EX_AC_RO = 0x4000;
        /// WR_EX_RO: Write Exclusive - Registrants Only.
        const WR_EX_RO = 0x2000;
        /// EX_AC: Exclusive Access.
        const EX_AC = 0x0800;
        /// WR_EX: Write Exclusive.
        const WR_EX = 0x0200;
        /// EX_AC_AR: Exclusive Access - All Registrants.
        const EX_AC_AR = 0x0001;
    }
}

impl PrTypeMask {
    /// The bit for `t`.
    pub const fn of(t: PrType) -> Self {
        match t {
            PrType::WriteExclusive => PrTypeMask::WR_EX,
            PrType::ExclusiveAccess => PrTypeMask::EX_AC,
            PrType::WriteExclusiveRegistrantsOnly => PrTypeMask::WR_EX_RO,
            PrType::ExclusiveAccessRegistrantsOnly => PrTypeMask::EX_AC_RO,
            PrType::WriteExclusiveAllRegistrants => PrTypeMask::WR_EX_AR,
            PrType::ExclusiveAccessAllRegistrants => PrTypeMask::EX_AC_AR,
        }
    }
    /// Whether type `t` is supported.
    pub const fn supports(self, t: PrType) -> bool {
        self.contains(Self::of(t))
    }
}

/// REPORT CAPABILITIES parameter data (SPC-4 6.16.4).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// RLR_C: replace lost reservation capable.
    pub rlr_c: bool,
    /// CRH: compatible reservation handling.
    pub crh: bool,
    /// SIP_C: specify initiator ports capable (SPEC_I_PT).
    pub sip_c: bool,
    /// ATP_C: all target ports capable (ALL_TG_PT).
    pub atp_c: bool,
    /// PTPL_C: persist through power loss capable (APTPL).
    pub ptpl_c: bool,
    /// TMV: the type mask is valid.
    pub tmv: bool,
    /// ALLOW COMMANDS (3 bits, SPC-4 table 175).
    pub allow_commands: u8,
    /// PTPL_A: persist through power loss is activated.
    pub ptpl_a: bool,
    /// PERSISTENT RESERVATION TYPE MASK (meaningful when `tmv`).
    pub types: PrTypeMask,
}

/// The reservation READ RESERVATION reports (SPC-4 6.16.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reservation {
    /// RESERVATION KEY of the holder.
    pub key: u64,
    /// TYPE (SCOPE is LU_SCOPE).
    pub pr_type: PrType,
}

/// A READ FULL STATUS descriptor (SPC-4 6.16.5, table 178): one
/// registration and the I_T nexus it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FullStatus<'a> {
    /// RESERVATION KEY.
    pub key: u64,
    /// ALL_TG_PT: registered through every target port.
    pub all_tg_pt: bool,
    /// R_HOLDER: this registration holds the reservation.
    pub r_holder: bool,
    /// TYPE of the reservation, when `r_holder`.
    pub pr_type: Option<PrType>,
    /// RELATIVE TARGET PORT IDENTIFIER (meaningless when `all_tg_pt`).
    pub relative_target_port: u16,
    /// The initiator port.
    pub transport_id: TransportId<'a>,
}

impl<'a> WireItem<'a> for FullStatus<'a> {
    fn decode(b: &'a [u8]) -> Result<(Self, usize), WireError> {
        need(b, FULL_STATUS_HEADER, "full status descriptor", 0)?;
        let adl = usize_from(get_be32(b, 20));
        let len = adl.saturating_add(FULL_STATUS_HEADER);
        need(b, len, "ADDITIONAL DESCRIPTOR LENGTH", 20)?;
        let (transport_id, tlen) = TransportId::decode(get_range(b, FULL_STATUS_HEADER, len))
            .map_err(|e| e.at(FULL_STATUS_HEADER))?;
        if tlen != adl {
            return Err(WireError::mismatch("ADDITIONAL DESCRIPTOR LENGTH", 20));
        }
        let flags = get_u8(b, 12);
        let d = FullStatus {
            key: get_be64(b, 0),
            all_tg_pt: flags & 0x02 != 0,
            r_holder: flags & 0x01 != 0,
            pr_type: parse_scope_type(get_u8(b, 13), 13, true)?,
            relative_target_port: get_be16(b, 18),
            transport_id,
        };
        Ok((d, len))
    }
    fn encoded_len(&self) -> usize {
        self.transport_id
            .buffer_len()
            .saturating_add(FULL_STATUS_HEADER)
    }
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError> {
        zero(buf, 0, FULL_STATUS_HEADER, "full status descriptor")?;
        put(buf, 0, &self.key.to_be_bytes(), "RESERVATION KEY")?;
        let flags = if self.all_tg_pt { 0x02 } else { 0 } | u8::from(self.r_holder);
        put(buf, 12, &[flags, scope_type_byte(self.pr_type)], "R_HOLDER")?;
        put(
            buf,
            18,
            &self.relative_target_port.to_be_bytes(),
            "RELATIVE TARGET PORT IDENTIFIER",
        )?;
        let adl = len_u32(
            self.transport_id.buffer_len(),
            "ADDITIONAL DESCRIPTOR LENGTH",
            20,
        )?;
        put(buf, 20, &adl.to_be_bytes(), "ADDITIONAL DESCRIPTOR LENGTH")?;
        write_at(buf, FULL_STATUS_HEADER, "TransportID", |b| {
            self.transport_id.encode(b)
        })
    }
}

/// A checked view of PERSISTENT RESERVE IN parameter data for one action.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrIn<T: AsRef<[u8]>> {
    buf: T,
    action: PrInAction,
}

impl<T: AsRef<[u8]>> PrIn<T> {
    /// Validate `buf` as the response to `action`.
    pub fn new_checked(buf: T, action: PrInAction) -> Result<Self, WireError> {
        let b = buf.as_ref();
        let total = Self::required_len(b, action)?;
        match action {
            PrInAction::ReportCapabilities => {
                if get_be16(b, 0) != 8 {
                    return Err(WireError::mismatch("LENGTH", 0));
                }
                need(b, total, "LENGTH", 0)?;
            }
            _ => need(b, total, "ADDITIONAL LENGTH", 4)?,
        }
        let body = get_range(b, HEADER, total);
        match action {
            PrInAction::ReadKeys if body.len() % 8 != 0 => {
                return Err(WireError::mismatch("ADDITIONAL LENGTH", 4))
            }
            PrInAction::ReadKeys => {}
            PrInAction::ReadReservation => match body.len() {
                0 => {}
                RESERVATION_LEN => {
                    parse_scope_type(get_u8(b, 21), 21, false)?;
                }
                _ => return Err(WireError::mismatch("ADDITIONAL LENGTH", 4)),
            },
            PrInAction::ReportCapabilities => {}
            PrInAction::ReadFullStatus => {
                List::<FullStatus<'_>>::parse(body, HEADER)?;
            }
        }
        Ok(PrIn { buf, action })
    }

    /// The buffer size the whole response needs (for READ KEYS and READ
    /// FULL STATUS, ADDITIONAL LENGTH + 8).
    pub fn required_len(b: &[u8], action: PrInAction) -> Result<usize, WireError> {
        match action {
            PrInAction::ReportCapabilities => {
                need(b, 2, "LENGTH", 0)?;
                Ok(CAPABILITIES_LEN)
            }
            _ => {
                need(b, HEADER, "ADDITIONAL LENGTH", 4)?;
                Ok(usize_from(get_be32(b, 4)).saturating_add(HEADER))
            }
        }
    }

    /// The service action this view was checked for.
    pub fn action(&self) -> PrInAction {
        self.action
    }

    /// PRGENERATION (not present in REPORT CAPABILITIES: 0).
    pub fn generation(&self) -> u32 {
        match self.action {
            PrInAction::ReportCapabilities => 0,
            _ => get_be32(self.buf.as_ref(), 0),
        }
    }
}

/// PERSISTENT RESERVE IN parameter data as values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrInRepr<'a> {
    /// READ KEYS (SPC-4 6.16.2).
    ReadKeys {
        /// PRGENERATION.
        generation: u32,
        /// The registered keys, one per registered I_T nexus.
        keys: List<'a, u64>,
    },
    /// READ RESERVATION (SPC-4 6.16.3).
    ReadReservation {
        /// PRGENERATION.
        generation: u32,
        /// The reservation, if one is held.
        reservation: Option<Reservation>,
    },
    /// REPORT CAPABILITIES (SPC-4 6.16.4).
    ReportCapabilities(Capabilities),
    /// READ FULL STATUS (SPC-4 6.16.5).
    ReadFullStatus {
        /// PRGENERATION.
        generation: u32,
        /// One descriptor per registration.
        registrations: List<'a, FullStatus<'a>>,
    },
}

impl<'a> PrInRepr<'a> {
    /// Read from a checked view.
    pub fn parse(v: &PrIn<&'a [u8]>) -> Self {
        let b: &'a [u8] = v.buf;
        let generation = v.generation();
        let end = PrIn::<&[u8]>::required_len(b, v.action).unwrap_or(0);
        let body = get_range(b, HEADER, end);
        match v.action {
            PrInAction::ReadKeys => PrInRepr::ReadKeys {
                generation,
                keys: List::Wire(body),
            },
            PrInAction::ReadReservation => PrInRepr::ReadReservation {
                generation,
                reservation: parse_scope_type(get_u8(b, 21), 21, false)
                    .ok()
                    .flatten()
                    .filter(|_| !body.is_empty())
                    .map(|pr_type| Reservation {
                        key: get_be64(b, 8),
                        pr_type,
                    }),
            },
            PrInAction::ReportCapabilities => {
                let (b2, b3) = (get_u8(b, 2), get_u8(b, 3));
                PrInRepr::ReportCapabilities(Capabilities {
                    rlr_c: b2 & 0x80 != 0,
                    crh: b2 & 0x10 != 0,
                    sip_c: b2 & 0x08 != 0,
                    atp_c: b2 & 0x04 != 0,
                    ptpl_c: b2 & 0x01 != 0,
                    tmv: b3 & 0x80 != 0,
                    allow_commands: (b3 >> 4) & 0x07,
                    ptpl_a: b3 & 0x01 != 0,
                    types: PrTypeMask::from_bits_truncate(get_be16(b, 4)),
                })
            }
            PrInAction::ReadFullStatus => PrInRepr::ReadFullStatus {
                generation,
                registrations: List::Wire(body),
            },
        }
    }

    /// Validate `b` as the response to `action` and parse it.
    pub fn parse_bytes(action: PrInAction, b: &'a [u8]) -> Result<Self, WireError> {
        PrIn::new_checked(b, action).map(|v| Self::parse(&v))
    }

    /// The service action whose response this is.
    pub const fn action(&self) -> PrInAction {
        match self {
            PrInRepr::ReadKeys { .. } => PrInAction::ReadKeys,
            PrInRepr::ReadReservation { .. } => PrInAction::ReadReservation,
            PrInRepr::ReportCapabilities(_) => PrInAction::ReportCapabilities,
            PrInRepr::ReadFullStatus { .. } => PrInAction::ReadFullStatus,
        }
    }

    /// The bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self {
            PrInRepr::ReadKeys { keys, .. } => keys.buffer_len().saturating_add(HEADER),
            PrInRepr::ReadReservation { reservation, .. } => {
                HEADER.saturating_add(if reservation.is_some() {
                    RESERVATION_LEN
                } else {
                    0
                })
            }
            PrInRepr::ReportCapabilities(_) => CAPABILITIES_LEN,
            PrInRepr::ReadFullStatus { registrations, .. } => {
                registrations.buffer_len().saturating_add(HEADER)
            }
        }
    }

    /// Write the parameter data; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        room(buf, len, "PERSISTENT RESERVE IN parameter data")?;
        zero(buf, 0, len, "PERSISTENT RESERVE IN parameter data")?;
        let add = len_u32(len.saturating_sub(HEADER), "ADDITIONAL LENGTH", 4)?;
        let header = |buf: &mut [u8], generation: u32| -> Result<(), WireError> {
            put(buf, 0, &generation.to_be_bytes(), "PRGENERATION")?;
            put(buf, 4, &add.to_be_bytes(), "ADDITIONAL LENGTH")
        };
        match self {
            PrInRepr::ReadKeys { generation, keys } => {
                header(buf, *generation)?;
                write_at(buf, HEADER, "list", |b| keys.emit(b))?;
            }
            PrInRepr::ReadReservation {
                generation,
                reservation,
            } => {
                header(buf, *generation)?;
                if let Some(r) = reservation {
                    put(buf, 8, &r.key.to_be_bytes(), "RESERVATION KEY")?;
                    put(buf, 21, &[scope_type_byte(Some(r.pr_type))], "TYPE")?;
                }
            }
            PrInRepr::ReportCapabilities(c) => {
                if c.allow_commands > 7 {
                    return Err(WireError::out_of_range("ALLOW COMMANDS", 3));
                }
                let bit = |on: bool, mask: u8| if on { mask } else { 0 };
                let b2 = bit(c.rlr_c, 0x80)
                    | bit(c.crh, 0x10)
                    | bit(c.sip_c, 0x08)
                    | bit(c.atp_c, 0x04)
                    | bit(c.ptpl_c, 0x01);
                let b3 = bit(c.tmv, 0x80) | c.allow_commands << 4 | bit(c.ptpl_a, 0x01);
                let [t0, t1] = c.types.bits().to_be_bytes();
                put(buf, 0, &[0, 8, b2, b3, t0, t1, 0, 0], "REPORT CAPABILITIES")?;
            }
            PrInRepr::ReadFullStatus {
                generation,
                registrations,
            } => {
                header(buf, *generation)?;
                write_at(buf, HEADER, "list", |b| registrations.emit(b))?;
            }
        }
        Ok(len)
    }
}

#[cfg(test)]
#[path = "pr_in_tests.rs"]
mod tests;
