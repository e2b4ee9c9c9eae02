//! VPD page 83h, Device Identification (SPC-4 7.8.6): designation
//! descriptors that name the logical unit, the target port the command came
//! through, its target port group, and the target device.
//!
//! A multipath stack needs three things from it: a stable identity for the
//! logical unit (to group paths), and per path the relative target port
//! identifier and target port group (to find the path's state in a REPORT
//! TARGET PORT GROUPS response), as scsi_dh_alua's alua_check_tpgs and
//! multipath-tools' uid and tpg lookups do.

use crate::error::WireError;
use crate::inquiry::Peripheral;
use crate::transport_id::ProtocolId;
use crate::vpd::{emit_header, page, Vpd, HEADER};
use crate::wire::{get_be16, get_range, get_u8, len_u8, need, put, write_at, List, WireItem};

/// CODE SET (SPC-4 7.8.6.1, table 467). Other codes are reserved.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CodeSet {
    /// 1h: binary.
    Binary,
    /// 2h: printable ASCII.
    Ascii,
    /// 3h: UTF-8.
    Utf8,
}

impl CodeSet {
    fn from_code(c: u8) -> Result<Self, WireError> {
        match c {
            1 => Ok(CodeSet::Binary),
            2 => Ok(CodeSet::Ascii),
            3 => Ok(CodeSet::Utf8),
            _ => Err(WireError::reserved("CODE SET", 0)),
        }
    }
    const fn code(self) -> u8 {
        match self {
            CodeSet::Binary => 1,
            CodeSet::Ascii => 2,
            CodeSet::Utf8 => 3,
        }
    }
}

/// ASSOCIATION (SPC-4 7.8.6.1, table 468): what the designator names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Association {
    /// 00b: the logical unit.
    LogicalUnit,
    /// 01b: the target port that received the INQUIRY.
    TargetPort,
    /// 10b: the SCSI target device containing the logical unit.
    TargetDevice,
}

impl Association {
    fn from_code(c: u8) -> Result<Self, WireError> {
        match c {
            0 => Ok(Association::LogicalUnit),
            1 => Ok(Association::TargetPort),
            2 => Ok(Association::TargetDevice),
            _ => Err(WireError::reserved("ASSOCIATION", 1)),
        }
    }
    const fn code(self) -> u8 {
        match self {
            Association::LogicalUnit => 0,
            Association::TargetPort => 1,
            Association::TargetDevice => 2,
        }
    }
}

/// A designator, by DESIGNATOR TYPE (SPC-4 7.8.6.1, table 469), with the
/// length rules of its subclause checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Designator<'a> {
    /// 0h vendor specific.
    VendorSpecific(&'a [u8]),
    /// 1h T10 vendor ID based (7.8.6.4): 8-byte T10 VENDOR IDENTIFICATION,
    /// then vendor specific bytes.
    T10VendorId(&'a [u8]),
    /// 2h EUI-64 based (7.8.6.5): 8, 12 or 16 bytes.
    Eui64(&'a [u8]),
    /// 3h NAA (7.8.6.6): 8 bytes for NAA 2h, 3h, 5h; 16 for NAA 6h.
    Naa(&'a [u8]),
    /// 4h relative target port identifier (7.8.6.7).
    RelativeTargetPort(u16),
    /// 5h target port group (7.8.6.8).
    TargetPortGroup(u16),
    /// 6h logical unit group (7.8.6.9).
    LogicalUnitGroup(u16),
    /// 7h MD5 logical unit identifier (7.8.6.10): 16 bytes.
    Md5(&'a [u8]),
    /// 8h SCSI name string (7.8.6.11): UTF-8, null terminated, padded to a
    /// multiple of 4. Held as on the wire; see [`Designator::scsi_name`].
    ScsiNameString(&'a [u8]),
    /// 9h protocol specific port identifier (7.8.6.12).
    ProtocolSpecific(&'a [u8]),
    /// Ah UUID (SPC-5 7.7.6.13): the 16-byte RFC 4122 UUID.
    Uuid(&'a [u8]),
    /// Bh-Fh: reserved types, kept so the rest of the page still parses.
    Reserved {
        /// DESIGNATOR TYPE.
        designator_type: u8,
        /// The designator bytes.
        bytes: &'a [u8],
    },
}

const NAA_IEEE_EXTENDED: u8 = 0x2;
const NAA_LOCALLY_ASSIGNED: u8 = 0x3;
const NAA_IEEE_REGISTERED: u8 = 0x5;
const NAA_IEEE_REGISTERED_EXTENDED: u8 = 0x6;
/// UUID designator: UUID TYPE 1h in bits 7-4, a reserved byte, 16 bytes.
const UUID_LEN: usize = 18;

impl<'a> Designator<'a> {
    /// Check `b` against the rules for `dtype`. Offsets are relative to the
    /// designator field.
    fn from_wire(dtype: u8, b: &'a [u8]) -> Result<Self, WireError> {
        let len_is = |ok: bool| {
            if ok {
                Ok(())
            } else {
                Err(WireError::mismatch("DESIGNATOR LENGTH", 0))
            }
        };
        // Relative target port, target port group and logical unit group:
        // two reserved bytes, then the 16-bit identifier.
        let id16 = || -> Result<u16, WireError> {
            len_is(b.len() == 4)?;
            if get_be16(b, 0) != 0 {
                return Err(WireError::reserved("reserved", 0));
            }
            Ok(get_be16(b, 2))
        };
        Ok(match dtype {
            0x0 => Designator::VendorSpecific(b),
            0x1 => {
                len_is(b.len() >= 8)?;
                Designator::T10VendorId(b)
            }
            0x2 => {
                len_is(matches!(b.len(), 8 | 12 | 16))?;
                Designator::Eui64(b)
            }
            0x3 => {
                need(b, 1, "NAA", 0)?;
                let want = match get_u8(b, 0) >> 4 {
                    NAA_IEEE_EXTENDED | NAA_LOCALLY_ASSIGNED | NAA_IEEE_REGISTERED => 8,
                    NAA_IEEE_REGISTERED_EXTENDED => 16,
                    _ => return Err(WireError::reserved("NAA", 0)),
                };
                len_is(b.len() == want)?;
                Designator::Naa(b)
            }
            0x4 => Designator::RelativeTargetPort(id16()?),
            0x5 => Designator::TargetPortGroup(id16()?),
            0x6 => Designator::LogicalUnitGroup(id16()?),
            0x7 => {
                len_is(b.len() == 16)?;
                Designator::Md5(b)
            }
            0x8 => {
                len_is(b.len() % 4 == 0 && b.contains(&0))?;
                Designator::ScsiNameString(b)
            }
            0x9 => Designator::ProtocolSpecific(b),
            0xA => {
                len_is(b.len() == UUID_LEN)?;
                if get_u8(b, 0) != 0x10 || get_u8(b, 1) != 0 {
                    return Err(WireError::reserved("UUID TYPE", 0));
                }
                Designator::Uuid(get_range(b, 2, UUID_LEN))
            }
            t => Designator::Reserved {
                designator_type: t,
                bytes: b,
            },
        })
    }

    /// DESIGNATOR TYPE.
    pub const fn designator_type(&self) -> u8 {
        match self {
            Designator::VendorSpecific(_) => 0x0,
            Designator::T10VendorId(_) => 0x1,
            Designator::Eui64(_) => 0x2,
            Designator::Naa(_) => 0x3,
            Designator::RelativeTargetPort(_) => 0x4,
            Designator::TargetPortGroup(_) => 0x5,
            Designator::LogicalUnitGroup(_) => 0x6,
            Designator::Md5(_) => 0x7,
            Designator::ScsiNameString(_) => 0x8,
            Designator::ProtocolSpecific(_) => 0x9,
            Designator::Uuid(_) => 0xA,
            Designator::Reserved {
                designator_type, ..
            } => *designator_type,
        }
    }

    /// DESIGNATOR LENGTH.
    pub fn len(&self) -> usize {
        match self {
            Designator::RelativeTargetPort(_)
            | Designator::TargetPortGroup(_)
            | Designator::LogicalUnitGroup(_) => 4,
            Designator::Uuid(u) => u.len().saturating_add(2),
            Designator::VendorSpecific(b)
            | Designator::T10VendorId(b)
            | Designator::Eui64(b)
            | Designator::Naa(b)
            | Designator::Md5(b)
            | Designator::ScsiNameString(b)
            | Designator::ProtocolSpecific(b)
            | Designator::Reserved { bytes: b, .. } => b.len(),
        }
    }

    /// Whether the designator field is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn write(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let id16 = |v: u16| {
            let [h, l] = v.to_be_bytes();
            [0, 0, h, l]
        };
        match *self {
            Designator::RelativeTargetPort(v)
            | Designator::TargetPortGroup(v)
            | Designator::LogicalUnitGroup(v) => put(buf, 0, &id16(v), "DESIGNATOR"),
            Designator::Uuid(u) => {
                put(buf, 0, &[0x10, 0], "UUID TYPE")?;
                put(buf, 2, u, "UUID")
            }
            Designator::VendorSpecific(b)
            | Designator::T10VendorId(b)
            | Designator::Eui64(b)
            | Designator::Naa(b)
            | Designator::Md5(b)
            | Designator::ScsiNameString(b)
            | Designator::ProtocolSpecific(b)
            | Designator::Reserved { bytes: b, .. } => put(buf, 0, b, "DESIGNATOR"),
        }
    }

    /// A SCSI name string's text up to its terminator.
    pub fn scsi_name(&self) -> Option<&'a [u8]> {
        match *self {
            Designator::ScsiNameString(b) => b.split(|&c| c == 0).next(),
            _ => None,
        }
    }

    /// Rank as a logical unit identity: NAA > EUI-64 > SCSI name string >
    /// T10 vendor ID, longer (more unique) forms first within a type; `None`
    /// for types that cannot name a logical unit.
    fn lu_rank(&self) -> Option<u8> {
        Some(match self {
            Designator::Naa(b) => match get_u8(b, 0) >> 4 {
                NAA_IEEE_REGISTERED_EXTENDED => 9,
                NAA_IEEE_REGISTERED => 8,
                NAA_IEEE_EXTENDED => 7,
                _ => 6,
            },
            Designator::Eui64(b) => match b.len() {
                16 => 5,
                12 => 4,
                _ => 3,
            },
            Designator::ScsiNameString(_) => 2,
            Designator::T10VendorId(_) => 1,
            _ => return None,
        })
    }
}

/// One designation descriptor (SPC-4 7.8.6.1, table 466).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Designation<'a> {
    /// PIV: PROTOCOL IDENTIFIER is valid (for target port and target device
    /// associations; reserved otherwise, kept as sent).
    pub piv: bool,
    /// PROTOCOL IDENTIFIER as sent; see [`Designation::protocol`].
    pub protocol_id: ProtocolId,
    /// CODE SET.
    pub code_set: CodeSet,
    /// ASSOCIATION.
    pub association: Association,
    /// DESIGNATOR TYPE and DESIGNATOR.
    pub designator: Designator<'a>,
}

const DESCRIPTOR_HEADER: usize = 4;

impl Designation<'_> {
    /// The protocol the designator belongs to, when PIV makes the field
    /// meaningful (SPC-4 7.8.6.1: PIV set and association target port or
    /// target device).
    pub fn protocol(&self) -> Option<ProtocolId> {
        (self.piv && self.association != Association::LogicalUnit).then_some(self.protocol_id)
    }
}

impl<'a> WireItem<'a> for Designation<'a> {
    fn decode(b: &'a [u8]) -> Result<(Self, usize), WireError> {
        need(b, DESCRIPTOR_HEADER, "designation descriptor", 0)?;
        let (b0, b1) = (get_u8(b, 0), get_u8(b, 1));
        if b1 & 0x40 != 0 || get_u8(b, 2) != 0 {
            return Err(WireError::reserved("reserved", 1));
        }
        let len = usize::from(get_u8(b, 3)).saturating_add(DESCRIPTOR_HEADER);
        need(b, len, "DESIGNATOR LENGTH", 3)?;
        let designator = Designator::from_wire(b1 & 0x0F, get_range(b, DESCRIPTOR_HEADER, len))
            .map_err(|e| e.at(DESCRIPTOR_HEADER))?;
        let d = Designation {
            piv: b1 & 0x80 != 0,
            protocol_id: ProtocolId(b0 >> 4),
            code_set: CodeSet::from_code(b0 & 0x0F)?,
            association: Association::from_code((b1 >> 4) & 0x03)?,
            designator,
        };
        Ok((d, len))
    }
    fn encoded_len(&self) -> usize {
        self.designator.len().saturating_add(DESCRIPTOR_HEADER)
    }
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let len = len_u8(self.designator.len(), "DESIGNATOR LENGTH", 3)?;
        let proto = self.protocol_id.0;
        if proto > 0x0F {
            return Err(WireError::out_of_range("PROTOCOL IDENTIFIER", 0));
        }
        let piv = if self.piv { 0x80 } else { 0 };
        let b1 = piv | self.association.code() << 4 | self.designator.designator_type();
        put(
            buf,
            0,
            &[proto << 4 | self.code_set.code(), b1, 0, len],
            "designation descriptor",
        )?;
        write_at(buf, DESCRIPTOR_HEADER, "DESIGNATOR", |b| {
            self.designator.write(b)
        })?;
        // Refuse to emit what parse would reject (a 9-byte NAA, say).
        Designator::from_wire(
            self.designator.designator_type(),
            get_range(buf, DESCRIPTOR_HEADER, self.encoded_len()),
        )
        .map_err(|e| {
            WireError::new(crate::WireErrorKind::OutOfRange, e.field, e.offset)
                .at(DESCRIPTOR_HEADER)
        })?;
        Ok(())
    }
}

/// VPD page 83h as values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceIdRepr<'a> {
    /// Byte 0.
    pub peripheral: Peripheral,
    /// The designation descriptors.
    pub designations: List<'a, Designation<'a>>,
}

impl<'a> DeviceIdRepr<'a> {
    /// Read page 83h from a checked VPD view, validating every descriptor.
    pub fn parse(v: &Vpd<&'a [u8]>) -> Result<Self, WireError> {
        let payload = v.expect_page(page::DEVICE_IDENTIFICATION)?;
        Ok(DeviceIdRepr {
            peripheral: v.peripheral(),
            designations: List::parse(payload, HEADER)?,
        })
    }

    /// Validate and parse in one step.
    pub fn parse_bytes(b: &'a [u8]) -> Result<Self, WireError> {
        Self::parse(&Vpd::new_checked(b)?)
    }

    /// The logical unit's preferred designator (association logical unit):
    /// NAA, then EUI-64, then SCSI name string, then T10 vendor ID.
    pub fn lu_designator(&self) -> Option<Designation<'a>> {
        self.designations
            .iter()
            .filter(|d| d.association == Association::LogicalUnit)
            .filter_map(|d| d.designator.lu_rank().map(|r| (r, d)))
            // Keep the first of equal rank: the target lists its best first.
            .fold(
                None,
                |best: Option<(u8, Designation<'a>)>, (r, d)| match best {
                    Some((br, _)) if br >= r => best,
                    _ => Some((r, d)),
                },
            )
            .map(|(_, d)| d)
    }

    fn port_id(&self, pick: fn(&Designator<'a>) -> Option<u16>) -> Option<u16> {
        self.designations
            .iter()
            .filter(|d| d.association == Association::TargetPort)
            .find_map(|d| pick(&d.designator))
    }

    /// RELATIVE TARGET PORT IDENTIFIER of the port that answered.
    pub fn relative_target_port(&self) -> Option<u16> {
        self.port_id(|d| match d {
            Designator::RelativeTargetPort(v) => Some(*v),
            _ => None,
        })
    }

    /// TARGET PORT GROUP of the port that answered.
    pub fn target_port_group(&self) -> Option<u16> {
        self.port_id(|d| match d {
            Designator::TargetPortGroup(v) => Some(*v),
            _ => None,
        })
    }

    /// LOGICAL UNIT GROUP, if the logical unit reports one.
    pub fn logical_unit_group(&self) -> Option<u16> {
        self.designations.iter().find_map(|d| match d.designator {
            Designator::LogicalUnitGroup(v) if d.association == Association::LogicalUnit => Some(v),
            _ => None,
        })
    }

    /// The bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        self.designations.buffer_len().saturating_add(HEADER)
    }

    /// Write the page; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = emit_header(
            buf,
            self.peripheral,
            page::DEVICE_IDENTIFICATION,
            self.designations.buffer_len(),
        )?;
        write_at(buf, HEADER, "designation descriptor", |b| {
            self.designations.emit(b)
        })?;
        Ok(len)
    }
}

#[cfg(test)]
#[path = "designator_tests.rs"]
mod tests;
