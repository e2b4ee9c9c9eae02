//! Vital product data pages (SPC-4 7.8): the common 4-byte header, and page
//! 00h, Supported VPD Pages (SPC-4 7.8.16). Page 83h lives in
//! [`crate::designator`].

use crate::error::WireError;
use crate::inquiry::Peripheral;
use crate::wire::{get_be16, get_range, get_u8, len_u16, need, put, room, write_at, List};

/// VPD page codes a multipath stack asks for.
pub mod page {
    /// Supported VPD Pages.
    pub const SUPPORTED_PAGES: u8 = 0x00;
    /// Unit Serial Number.
    pub const UNIT_SERIAL_NUMBER: u8 = 0x80;
    /// Device Identification.
    pub const DEVICE_IDENTIFICATION: u8 = 0x83;
    /// Extended INQUIRY Data.
    pub const EXTENDED_INQUIRY: u8 = 0x86;
    /// Block Limits (SBC-3).
    pub const BLOCK_LIMITS: u8 = 0xB0;
}

pub(crate) const HEADER: usize = 4;

/// A checked view of any VPD page: header plus PAGE LENGTH bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Vpd<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Vpd<T> {
    /// Validate the header and that the buffer holds PAGE LENGTH bytes after
    /// it. Bytes past the page are ignored.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let total = Self::required_len(buf.as_ref())?;
        need(buf.as_ref(), total, "PAGE LENGTH", 2)?;
        Ok(Vpd { buf })
    }

    /// The buffer size the whole page needs (PAGE LENGTH + 4): re-issue the
    /// INQUIRY with this allocation length if the first answer was cut short.
    pub fn required_len(b: &[u8]) -> Result<usize, WireError> {
        need(b, HEADER, "PAGE LENGTH", 2)?;
        Ok(usize::from(get_be16(b, 2)).saturating_add(HEADER))
    }

    /// Byte 0.
    pub fn peripheral(&self) -> Peripheral {
        Peripheral::from_byte(get_u8(self.buf.as_ref(), 0))
    }

    /// PAGE CODE.
    pub fn page_code(&self) -> u8 {
        get_u8(self.buf.as_ref(), 1)
    }

    /// The bytes after the header, PAGE LENGTH of them.
    pub fn payload(&self) -> &[u8] {
        let b = self.buf.as_ref();
        get_range(b, HEADER, Self::required_len(b).unwrap_or(0))
    }
}

impl<'a> Vpd<&'a [u8]> {
    /// The payload with the buffer's lifetime.
    pub fn payload_ref(&self) -> &'a [u8] {
        let b: &'a [u8] = self.buf;
        get_range(b, HEADER, Self::required_len(b).unwrap_or(0))
    }

    /// The payload of page `code`, or `UnknownFormat` if this is another page.
    pub(crate) fn expect_page(&self, code: u8) -> Result<&'a [u8], WireError> {
        if self.page_code() != code {
            return Err(WireError::unknown("PAGE CODE", 1));
        }
        Ok(self.payload_ref())
    }
}

/// Write a VPD header for a payload of `payload_len` bytes; checks the whole
/// page fits `buf` and returns the page length.
pub(crate) fn emit_header(
    buf: &mut [u8],
    peripheral: Peripheral,
    code: u8,
    payload_len: usize,
) -> Result<usize, WireError> {
    let len = payload_len.saturating_add(HEADER);
    room(buf, len, "VPD page")?;
    let [h, l] = len_u16(payload_len, "PAGE LENGTH", 2)?.to_be_bytes();
    put(
        buf,
        0,
        &[peripheral.to_byte()?, code, h, l],
        "VPD page header",
    )?;
    Ok(len)
}

/// VPD page 00h: the page codes the logical unit supports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SupportedPagesRepr<'a> {
    /// Byte 0.
    pub peripheral: Peripheral,
    /// The supported page codes, in ascending order per SPC-4 7.8.16.
    pub pages: List<'a, u8>,
}

impl<'a> SupportedPagesRepr<'a> {
    /// Read page 00h from a checked view.
    pub fn parse(v: &Vpd<&'a [u8]>) -> Result<Self, WireError> {
        Ok(SupportedPagesRepr {
            peripheral: v.peripheral(),
            pages: List::Wire(v.expect_page(page::SUPPORTED_PAGES)?),
        })
    }

    /// Validate and parse in one step.
    pub fn parse_bytes(b: &'a [u8]) -> Result<Self, WireError> {
        Self::parse(&Vpd::new_checked(b)?)
    }

    /// Whether `code` is listed.
    pub fn supports(&self, code: u8) -> bool {
        self.pages.iter().any(|p| p == code)
    }

    /// The bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        self.pages.buffer_len().saturating_add(HEADER)
    }

    /// Write the page; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = emit_header(
            buf,
            self.peripheral,
            page::SUPPORTED_PAGES,
            self.pages.buffer_len(),
        )?;
        write_at(buf, HEADER, "PAGE CODE", |b| self.pages.emit(b))?;
        Ok(len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireErrorKind;
    use proptest::prelude::*;

    #[test]
    fn supported_pages() {
        let b = [0x00, 0x00, 0x00, 0x04, 0x00, 0x80, 0x83, 0xB0, 0xFF];
        let v = Vpd::new_checked(&b[..]).unwrap();
        assert_eq!(v.page_code(), 0);
        assert_eq!(v.payload(), &[0x00, 0x80, 0x83, 0xB0]);
        let r = SupportedPagesRepr::parse(&v).unwrap();
        assert!(r.supports(page::DEVICE_IDENTIFICATION));
        assert!(!r.supports(page::EXTENDED_INQUIRY));
        assert_eq!(r.pages.len(), 4);
        let mut out = [0u8; 8];
        assert_eq!(r.emit(&mut out).unwrap(), 8);
        assert_eq!(out, b[..8]);
        assert_eq!(
            r.emit(&mut out[..7]).unwrap_err().kind,
            WireErrorKind::BufferTooSmall
        );
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            Vpd::new_checked(&[0u8, 0, 0][..]).unwrap_err(),
            WireError::truncated("PAGE LENGTH", 2)
        );
        assert_eq!(
            Vpd::new_checked(&[0u8, 0, 0, 2, 0][..]).unwrap_err(),
            WireError::truncated("PAGE LENGTH", 2)
        );
        assert_eq!(Vpd::<&[u8]>::required_len(&[0, 0x83, 1, 0]), Ok(260));
        assert_eq!(
            SupportedPagesRepr::parse_bytes(&[0, 0x83, 0, 0]).unwrap_err(),
            WireError::unknown("PAGE CODE", 1)
        );
    }

    proptest! {
        #[test]
        fn emit_parse_is_identity(q in 0u8..8, t in 0u8..32, pages in proptest::collection::vec(any::<u8>(), 0..40)) {
            let r = SupportedPagesRepr {
                peripheral: Peripheral { qualifier: q, device_type: t },
                pages: List::Items(&pages),
            };
            let mut out = [0u8; 64];
            let n = r.emit(&mut out).unwrap();
            prop_assert_eq!(SupportedPagesRepr::parse_bytes(&out[..n]).unwrap(), r);
        }
    }
}
