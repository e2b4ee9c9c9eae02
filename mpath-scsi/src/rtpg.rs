//! REPORT TARGET PORT GROUPS parameter data (SPC-4 6.37): a header in one of
//! two formats, then one descriptor per target port group with its access
//! state and the relative target port identifiers of its ports.
//!
//! The header format is read from byte 4: FORMAT TYPE 001b there means the
//! extended header (SPC-4 table 163). In the length-only format byte 4 is the
//! first descriptor's byte 0, whose bits 6-4 are reserved, so the two cannot
//! be confused in conforming data (scsi_dh_alua tells them apart the same way).

use mpath_core::access::GroupAccess;
use mpath_core::time::Duration;

use crate::alua::{AluaState, SupportedStates, TpgStatus};
use crate::cdb::RtpgFormat;
use crate::error::WireError;
use crate::wire::{
    get_be16, get_be32, get_from, get_range, get_u8, len_u32, need, put, room, usize_from,
    write_at, List, ListIter, WireItem,
};

const LENGTH_ONLY_HEADER: usize = 4;
const EXTENDED_HEADER: usize = 8;
const FORMAT_TYPE_EXTENDED: u8 = 0x10;
const DESCRIPTOR_HEADER: usize = 8;
const PORT_ENTRY: usize = 4;

/// A RELATIVE TARGET PORT IDENTIFIER entry of a target port group
/// descriptor (4 bytes: 2 obsolete, then the identifier).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RelativePortId(pub u16);

impl WireItem<'_> for RelativePortId {
    fn decode(buf: &[u8]) -> Result<(Self, usize), WireError> {
        need(buf, PORT_ENTRY, "RELATIVE TARGET PORT IDENTIFIER", 2)?;
        Ok((RelativePortId(get_be16(buf, 2)), PORT_ENTRY))
    }
    fn encoded_len(&self) -> usize {
        PORT_ENTRY
    }
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let [h, l] = self.0.to_be_bytes();
        put(buf, 0, &[0, 0, h, l], "RELATIVE TARGET PORT IDENTIFIER")
    }
}

/// One target port group descriptor (SPC-4 6.37, table 165).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TpgDescriptor<'a> {
    /// PREF: the target prefers this group among those in the same state.
    pub preferred: bool,
    /// ASYMMETRIC ACCESS STATE.
    pub state: AluaState,
    /// The supported-state bits.
    pub supported: SupportedStates,
    /// TARGET PORT GROUP.
    pub group: u16,
    /// STATUS CODE.
    pub status: TpgStatus,
    /// VENDOR SPECIFIC.
    pub vendor_specific: u8,
    /// The relative target port identifiers in the group.
    pub ports: List<'a, RelativePortId>,
}

impl TpgDescriptor<'_> {
    /// The state and preferred bit as the core keeps them.
    pub const fn access(&self) -> GroupAccess {
        GroupAccess {
            state: self.state.access_state(),
            preferred: self.preferred,
        }
    }

    /// Whether the group contains the port with this relative identifier.
    pub fn contains_port(&self, port: u16) -> bool {
        self.ports.iter().any(|p| p.0 == port)
    }
}

impl<'a> WireItem<'a> for TpgDescriptor<'a> {
    fn decode(buf: &'a [u8]) -> Result<(Self, usize), WireError> {
        need(buf, DESCRIPTOR_HEADER, "target port group descriptor", 0)?;
        let b0 = get_u8(buf, 0);
        let count = usize::from(get_u8(buf, 7));
        let len = count
            .saturating_mul(PORT_ENTRY)
            .saturating_add(DESCRIPTOR_HEADER);
        need(buf, len, "TARGET PORT COUNT", 7)?;
        let d = TpgDescriptor {
            preferred: b0 & 0x80 != 0,
            state: AluaState::from_code(b0 & 0x0F, 0)?,
            supported: SupportedStates::from_bits_truncate(get_u8(buf, 1)),
            group: get_be16(buf, 2),
            status: TpgStatus::from_code(get_u8(buf, 5)),
            vendor_specific: get_u8(buf, 6),
            ports: List::parse(get_range(buf, DESCRIPTOR_HEADER, len), DESCRIPTOR_HEADER)?,
        };
        Ok((d, len))
    }
    fn encoded_len(&self) -> usize {
        self.ports.buffer_len().saturating_add(DESCRIPTOR_HEADER)
    }
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let count = crate::wire::len_u8(self.ports.len(), "TARGET PORT COUNT", 7)?;
        let [gh, gl] = self.group.to_be_bytes();
        let b0 = if self.preferred { 0x80 } else { 0 } | self.state.code();
        let header = [
            b0,
            self.supported.bits(),
            gh,
            gl,
            0,
            self.status.code(),
            self.vendor_specific,
            count,
        ];
        put(buf, 0, &header, "target port group descriptor")?;
        write_at(
            buf,
            DESCRIPTOR_HEADER,
            "RELATIVE TARGET PORT IDENTIFIER",
            |b| self.ports.emit(b),
        )?;
        Ok(())
    }
}

/// A checked view of REPORT TARGET PORT GROUPS parameter data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rtpg<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Rtpg<T> {
    /// Validate the header, the RETURN DATA LENGTH against the buffer, and
    /// every descriptor. Bytes past RETURN DATA LENGTH are ignored.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        let total = Self::required_len(b)?;
        need(b, total, "RETURN DATA LENGTH", 0)?;
        let b = get_range(b, 0, total);
        let start = match Self::format_of(b)? {
            RtpgFormat::LengthOnly => LENGTH_ONLY_HEADER,
            RtpgFormat::Extended => {
                need(b, EXTENDED_HEADER, "RETURN DATA LENGTH", 0)?;
                if get_u8(b, 4) & 0x8F != 0 || get_range(b, 6, 8) != [0, 0] {
                    return Err(WireError::reserved("reserved", 4));
                }
                EXTENDED_HEADER
            }
        };
        List::<TpgDescriptor<'_>>::parse(get_from(b, start), start)?;
        Ok(Rtpg { buf })
    }

    /// The buffer size the whole response needs (RETURN DATA LENGTH + 4):
    /// when it exceeds the allocation length, re-issue the command with this
    /// much, as scsi_dh_alua does.
    pub fn required_len(b: &[u8]) -> Result<usize, WireError> {
        need(b, LENGTH_ONLY_HEADER, "RETURN DATA LENGTH", 0)?;
        Ok(usize_from(get_be32(b, 0)).saturating_add(LENGTH_ONLY_HEADER))
    }

    /// The header format `b` claims (FORMAT TYPE in byte 4, if RETURN DATA
    /// LENGTH covers it), read without checking the descriptors: which
    /// format an answer that [`new_checked`](Self::new_checked) refuses
    /// was in.
    pub fn claimed_format(b: &[u8]) -> Result<RtpgFormat, WireError> {
        let total = Self::required_len(b)?;
        Self::format_of(get_range(b, 0, total.min(b.len())))
    }

    fn format_of(b: &[u8]) -> Result<RtpgFormat, WireError> {
        match b.get(4) {
            None => Ok(RtpgFormat::LengthOnly),
            Some(&b4) => match b4 & 0x70 {
                0 => Ok(RtpgFormat::LengthOnly),
                FORMAT_TYPE_EXTENDED => Ok(RtpgFormat::Extended),
                _ => Err(WireError::unknown("FORMAT TYPE", 4)),
            },
        }
    }

    fn b(&self) -> &[u8] {
        let b = self.buf.as_ref();
        get_range(b, 0, Self::required_len(b).unwrap_or(0))
    }

    /// Which header the target used.
    pub fn format(&self) -> RtpgFormat {
        Self::format_of(self.b()).unwrap_or(RtpgFormat::LengthOnly)
    }

    /// IMPLICIT TRANSITION TIME in seconds (extended header only; 0 means
    /// the target does not say).
    pub fn implicit_transition_time(&self) -> u8 {
        match self.format() {
            RtpgFormat::Extended => get_u8(self.b(), 5),
            RtpgFormat::LengthOnly => 0,
        }
    }

    /// The target port group descriptors.
    pub fn groups(&self) -> ListIter<'_, TpgDescriptor<'_>> {
        let start = match self.format() {
            RtpgFormat::LengthOnly => LENGTH_ONLY_HEADER,
            RtpgFormat::Extended => EXTENDED_HEADER,
        };
        List::Wire(get_from(self.b(), start)).iter()
    }
}

/// REPORT TARGET PORT GROUPS parameter data as values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RtpgRepr<'a> {
    /// Header format.
    pub format: RtpgFormat,
    /// IMPLICIT TRANSITION TIME in seconds; only the extended header has it,
    /// so it reads as 0 with `LengthOnly`, and emitting `LengthOnly` with a
    /// non-zero time is `OutOfRange`.
    pub implicit_transition_time: u8,
    /// The target port groups.
    pub groups: List<'a, TpgDescriptor<'a>>,
}

impl<'a> RtpgRepr<'a> {
    /// Read from a checked view.
    pub fn parse(v: &Rtpg<&'a [u8]>) -> Self {
        let b: &'a [u8] = v.buf;
        let format = v.format();
        let start = match format {
            RtpgFormat::LengthOnly => LENGTH_ONLY_HEADER,
            RtpgFormat::Extended => EXTENDED_HEADER,
        };
        let end = Rtpg::<&[u8]>::required_len(b).unwrap_or(0);
        RtpgRepr {
            format,
            implicit_transition_time: v.implicit_transition_time(),
            groups: List::Wire(get_range(b, start, end)),
        }
    }

    /// Validate and parse in one step.
    pub fn parse_bytes(b: &'a [u8]) -> Result<Self, WireError> {
        Rtpg::new_checked(b).map(|v| Self::parse(&v))
    }

    /// The IMPLICIT TRANSITION TIME as a duration, if the target gave one.
    pub fn implicit_transition_timeout(&self) -> Option<Duration> {
        (self.implicit_transition_time != 0)
            .then(|| Duration::from_secs(u64::from(self.implicit_transition_time)))
    }

    /// The descriptor of target port group `group`.
    pub fn group(&self, group: u16) -> Option<TpgDescriptor<'a>> {
        self.groups.iter().find(|g| g.group == group)
    }

    /// The descriptor of the group that holds relative target port `port`.
    pub fn group_of_port(&self, port: u16) -> Option<TpgDescriptor<'a>> {
        self.groups.iter().find(|g| g.contains_port(port))
    }

    fn header_len(&self) -> usize {
        match self.format {
            RtpgFormat::LengthOnly => LENGTH_ONLY_HEADER,
            RtpgFormat::Extended => EXTENDED_HEADER,
        }
    }

    /// The bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        self.header_len().saturating_add(self.groups.buffer_len())
    }

    /// Write the parameter data; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        if self.format == RtpgFormat::LengthOnly && self.implicit_transition_time != 0 {
            // The length-only header has no field for it: refuse to drop it.
            return Err(WireError::out_of_range("IMPLICIT TRANSITION TIME", 5));
        }
        let len = self.buffer_len();
        room(buf, len, "REPORT TARGET PORT GROUPS parameter data")?;
        let rdl = len_u32(
            len.saturating_sub(LENGTH_ONLY_HEADER),
            "RETURN DATA LENGTH",
            0,
        )?;
        put(buf, 0, &rdl.to_be_bytes(), "RETURN DATA LENGTH")?;
        let start = self.header_len();
        if self.format == RtpgFormat::Extended {
            put(
                buf,
                4,
                &[FORMAT_TYPE_EXTENDED, self.implicit_transition_time, 0, 0],
                "FORMAT TYPE",
            )?;
        }
        write_at(buf, start, "target port group descriptor", |b| {
            self.groups.emit(b)
        })?;
        Ok(len)
    }
}

#[cfg(test)]
#[path = "rtpg_tests.rs"]
mod tests;
