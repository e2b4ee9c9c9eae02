//! Reservation Report data: the Reservation Status data structure (Base 2.0
//! "Reservation Report command", figures "Reservation Status Data
//! Structure", "Registered Controller Data Structure" and their extended
//! variants).
//!
//! ```text
//! header       0..4   GEN, generation: changes on every registration change
//!              4      RTYPE, 0 = no reservation
//!              5..7   REGCTL, number of registered controllers
//!              7..9   reserved
//!              9      PTPLS, bit 0: persist through power loss state
//!             10..24  reserved         (extended format: reserved to 64)
//! registrant   regular, 24 bytes       extended, 64 bytes
//!              0..2   CNTLID           0..2   CNTLID
//!              2      RCSTS bit 0      2      RCSTS bit 0
//!              8..16  HOSTID (64-bit)  8..16  RKEY
//!             16..24  RKEY            16..32  HOSTID (128-bit)
//! ```
//!
//! REGCTL counts every registrant, but a report transfers only as many as
//! fit in the host's buffer (NUMD), so [`ResvReport`] lists the registrants
//! present and says whether the list was cut short. A controller whose host
//! uses a 128-bit host identifier (fabrics) answers the regular format with
//! an error; ask for the extended one (EDS) there.

use crate::error::{Error, Result};
use crate::field::{self, put, u16_at, u32_at, u64_at, u8_at};
use crate::reservation::{rtype_code, rtype_from, ReservationType};

/// Header length of the regular format.
pub const HEADER_LEN: usize = 24;
/// Header length of the extended format.
pub const EXT_HEADER_LEN: usize = 64;
/// Registered Controller data structure length.
pub const REGISTRANT_LEN: usize = 24;
/// Registered Controller extended data structure length.
pub const EXT_REGISTRANT_LEN: usize = 64;

/// Which of the two report layouts (CDW11 EDS of the command).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// 24-byte header, 24-byte registrants with 64-bit host identifiers.
    Regular,
    /// 64-byte header, 64-byte registrants with 128-bit host identifiers.
    Extended,
}

impl Format {
    /// Header length.
    pub const fn header_len(self) -> usize {
        match self {
            Format::Regular => HEADER_LEN,
            Format::Extended => EXT_HEADER_LEN,
        }
    }

    /// Length of one registrant.
    pub const fn registrant_len(self) -> usize {
        match self {
            Format::Regular => REGISTRANT_LEN,
            Format::Extended => EXT_REGISTRANT_LEN,
        }
    }

    /// (HOSTID offset, HOSTID length, RKEY offset) in a registrant.
    const fn layout(self) -> (usize, usize, usize) {
        match self {
            Format::Regular => (8, 8, 16),
            Format::Extended => (16, 16, 8),
        }
    }
}

/// A Registered Controller data structure, either format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RegisteredController {
    /// Controller ID, FFFFh when the registrant's controller is not known
    /// (the host registered through a controller that is gone).
    pub cntlid: u16,
    /// RCSTS bit 0: this registrant holds the reservation.
    pub holds_reservation: bool,
    /// Host Identifier. The regular format carries 8 bytes, stored in the
    /// first half with the second half zero.
    pub hostid: [u8; 16],
    /// Reservation Key.
    pub rkey: u64,
}

impl RegisteredController {
    /// Parses one registrant at the start of `buf`.
    pub fn parse(buf: &[u8], format: Format) -> Result<Self> {
        field::check_in(buf, format.registrant_len(), "Registered Controller")?;
        let (hostid_at, hostid_len, rkey_at) = format.layout();
        let mut hostid = [0; 16];
        let src = buf
            .get(hostid_at..hostid_at.saturating_add(hostid_len))
            .ok_or(Error::Truncated {
                field: "HOSTID",
                offset: hostid_at,
                needed: hostid_len,
            })?;
        put(&mut hostid, 0, src)?;
        Ok(RegisteredController {
            cntlid: u16_at(buf, 0, "CNTLID")?,
            holds_reservation: u8_at(buf, 2, "RCSTS")? & 1 != 0,
            hostid,
            rkey: u64_at(buf, rkey_at, "RKEY")?,
        })
    }

    /// Writes the registrant at the start of `buf`, reserved bytes zeroed.
    /// A 128-bit host identifier does not fit the regular format.
    pub fn emit(&self, buf: &mut [u8], format: Format) -> Result<()> {
        field::check_out(buf, format.registrant_len())?;
        let (hostid_at, hostid_len, rkey_at) = format.layout();
        let (short, long) = self.hostid.split_at(8);
        if format == Format::Regular && long.iter().any(|b| *b != 0) {
            return Err(Error::Overflow {
                field: "HOSTID",
                value: u64::from_be_bytes(<[u8; 8]>::try_from(long).unwrap_or([0xFF; 8])),
            });
        }
        field::zero(buf, 0, format.registrant_len())?;
        put(buf, 0, &self.cntlid.to_le_bytes())?;
        put(buf, 2, &[u8::from(self.holds_reservation)])?;
        let hostid = if format == Format::Regular {
            short
        } else {
            &self.hostid[..]
        };
        put(buf, hostid_at, hostid.get(..hostid_len).unwrap_or(hostid))?;
        put(buf, rkey_at, &self.rkey.to_le_bytes())
    }
}

/// The report header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ResvReportHeader {
    /// GEN: incremented by the controller on every Register, Unregister or
    /// Replace and on preemption of registrations.
    pub generation: u32,
    /// The reservation held on the namespace, if any.
    pub rtype: Option<ReservationType>,
    /// REGCTL: number of registrants, including those not transferred.
    pub regctl: u16,
    /// PTPLS: reservations persist through power loss.
    pub ptpls: bool,
}

impl ResvReportHeader {
    /// Parses the header at the start of `buf`.
    pub fn parse(buf: &[u8], format: Format) -> Result<Self> {
        field::check_in(buf, format.header_len(), "Reservation Status header")?;
        Ok(ResvReportHeader {
            generation: u32_at(buf, 0, "GEN")?,
            rtype: rtype_from(u8_at(buf, 4, "RTYPE")?, 4)?,
            regctl: u16_at(buf, 5, "REGCTL")?,
            ptpls: u8_at(buf, 9, "PTPLS")? & 1 != 0,
        })
    }

    /// Writes the header at the start of `buf`, reserved bytes zeroed.
    pub fn emit(&self, buf: &mut [u8], format: Format) -> Result<()> {
        field::check_out(buf, format.header_len())?;
        field::zero(buf, 0, format.header_len())?;
        put(buf, 0, &self.generation.to_le_bytes())?;
        put(buf, 4, &[rtype_code(self.rtype)])?;
        put(buf, 5, &self.regctl.to_le_bytes())?;
        put(buf, 9, &[u8::from(self.ptpls)])
    }
}

/// A whole report to emit (a simulated controller's side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResvReportRepr<'a> {
    /// Layout.
    pub format: Format,
    /// Header; `regctl` may exceed `registrants.len()` to model a report cut
    /// short by the host's buffer.
    pub header: ResvReportHeader,
    /// The registrants transferred.
    pub registrants: &'a [RegisteredController],
}

impl ResvReportRepr<'_> {
    /// Bytes the report takes.
    pub fn buffer_len(&self) -> usize {
        self.registrants
            .len()
            .saturating_mul(self.format.registrant_len())
            .saturating_add(self.format.header_len())
    }

    /// Writes the report at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field::check_out(buf, self.buffer_len())?;
        if self.registrants.len() > usize::from(self.header.regctl) {
            return Err(Error::Overflow {
                field: "REGCTL",
                value: u64::try_from(self.registrants.len()).unwrap_or(u64::MAX),
            });
        }
        self.header.emit(buf, self.format)?;
        let mut offset = self.format.header_len();
        for registrant in self.registrants {
            let rest = buf.get_mut(offset..).unwrap_or(&mut []);
            registrant.emit(rest, self.format)?;
            offset = offset.saturating_add(self.format.registrant_len());
        }
        Ok(())
    }
}

/// A validated Reservation Status data structure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResvReport<T: AsRef<[u8]>> {
    buf: T,
    format: Format,
    header: ResvReportHeader,
}

impl<T: AsRef<[u8]>> ResvReport<T> {
    /// Validates the header and every registrant present; the buffer may
    /// hold fewer registrants than REGCTL says.
    pub fn new_checked(buf: T, format: Format) -> Result<Self> {
        let header = ResvReportHeader::parse(buf.as_ref(), format)?;
        // Registrants have no invalid values (reserved bits are ignored), so
        // the header is all there is to validate.
        Ok(ResvReport {
            buf,
            format,
            header,
        })
    }

    /// The header.
    pub fn header(&self) -> ResvReportHeader {
        self.header
    }

    /// The layout.
    pub fn format(&self) -> Format {
        self.format
    }

    /// Number of registrants present in the buffer: REGCTL, or fewer if the
    /// transfer was cut short.
    pub fn present(&self) -> usize {
        let room = self
            .buf
            .as_ref()
            .len()
            .saturating_sub(self.format.header_len())
            .checked_div(self.format.registrant_len())
            .unwrap_or(0);
        room.min(usize::from(self.header.regctl))
    }

    /// Whether REGCTL counts registrants the buffer did not hold; read again
    /// with a larger buffer to see them all.
    pub fn is_truncated(&self) -> bool {
        self.present() < usize::from(self.header.regctl)
    }

    /// The registrants present.
    pub fn registrants(&self) -> impl Iterator<Item = RegisteredController> + '_ {
        let body = self
            .buf
            .as_ref()
            .get(self.format.header_len()..)
            .unwrap_or(&[]);
        body.chunks_exact(self.format.registrant_len())
            .take(self.present())
            .filter_map(move |chunk| RegisteredController::parse(chunk, self.format).ok())
    }

    /// The registrant holding the reservation, if any is present.
    pub fn holder(&self) -> Option<RegisteredController> {
        self.registrants().find(|r| r.holds_reservation)
    }

    /// The registrant with this host identifier (compared in the format's
    /// width), if present.
    pub fn find_host(&self, hostid: &[u8; 16]) -> Option<RegisteredController> {
        self.registrants().find(|r| &r.hostid == hostid)
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

#[cfg(test)]
#[path = "resv_report_tests.rs"]
mod tests;
