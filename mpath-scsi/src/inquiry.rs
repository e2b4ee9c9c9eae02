//! Standard INQUIRY data (SPC-4 6.6.2) and the peripheral byte that starts
//! every INQUIRY and VPD response.

use crate::error::WireError;
use crate::wire::{get_arr, get_u8, need, put, room, zero};

/// The first 36 bytes, which SPC-4 6.6.2 requires every device to return.
pub const STANDARD_LEN: usize = 36;
/// ADDITIONAL LENGTH of exactly 36 bytes of data.
const ADDITIONAL_LEN_36: u8 = 31;

/// PERIPHERAL QUALIFIER and PERIPHERAL DEVICE TYPE (SPC-4 6.6.2, byte 0).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Peripheral {
    /// PERIPHERAL QUALIFIER (3 bits): 000b connected, 001b not connected
    /// now, 011b not capable (no logical unit at this LUN).
    pub qualifier: u8,
    /// PERIPHERAL DEVICE TYPE (5 bits): 00h direct access block device.
    pub device_type: u8,
}

impl Peripheral {
    /// A connected direct-access block device (qualifier 000b, type 00h).
    pub const DISK: Peripheral = Peripheral {
        qualifier: 0,
        device_type: 0,
    };

    /// From byte 0.
    pub const fn from_byte(b: u8) -> Self {
        Peripheral {
            qualifier: b >> 5,
            device_type: b & 0x1F,
        }
    }

    /// Byte 0; `OutOfRange` if a field is wider than its bits.
    pub fn to_byte(self) -> Result<u8, WireError> {
        if self.qualifier > 7 || self.device_type > 0x1F {
            return Err(WireError::out_of_range(
                "PERIPHERAL QUALIFIER/DEVICE TYPE",
                0,
            ));
        }
        Ok(self.qualifier << 5 | self.device_type)
    }

    /// Whether a logical unit is connected at this LUN (qualifier 000b).
    pub const fn is_connected(self) -> bool {
        self.qualifier == 0
    }
}

/// TPGS: which kinds of asymmetric access the logical unit supports
/// (SPC-4 6.6.2, table 141).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tpgs {
    /// 00b: no ALUA.
    NotSupported,
    /// 01b: implicit ALUA only (the target changes states itself; STPG is
    /// not supported).
    Implicit,
    /// 10b: explicit ALUA only (STPG).
    Explicit,
    /// 11b: both.
    Both,
}

impl Tpgs {
    const fn from_bits(b: u8) -> Self {
        match b & 0x03 {
            0 => Tpgs::NotSupported,
            1 => Tpgs::Implicit,
            2 => Tpgs::Explicit,
            _ => Tpgs::Both,
        }
    }
    const fn bits(self) -> u8 {
        match self {
            Tpgs::NotSupported => 0,
            Tpgs::Implicit => 1,
            Tpgs::Explicit => 2,
            Tpgs::Both => 3,
        }
    }
    /// Whether the target changes access states on its own.
    pub const fn implicit(self) -> bool {
        matches!(self, Tpgs::Implicit | Tpgs::Both)
    }
    /// Whether SET TARGET PORT GROUPS is supported.
    pub const fn explicit(self) -> bool {
        matches!(self, Tpgs::Explicit | Tpgs::Both)
    }
}

/// A checked view of standard INQUIRY data.
///
/// Only the first 36 bytes are read; the response may be cut short by the
/// allocation length after them (SPC-4 4.3.5.6), which is normal, so the
/// ADDITIONAL LENGTH is not checked against the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Inquiry<T: AsRef<[u8]>> {
    buf: T,
}

impl<T: AsRef<[u8]>> Inquiry<T> {
    /// Validate: at least 36 bytes, and an ADDITIONAL LENGTH that covers them.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        let b = buf.as_ref();
        need(b, 5, "ADDITIONAL LENGTH", 4)?;
        if get_u8(b, 4) < ADDITIONAL_LEN_36 {
            return Err(WireError::mismatch("ADDITIONAL LENGTH", 4));
        }
        need(b, STANDARD_LEN, "standard INQUIRY data", 0)?;
        Ok(Inquiry { buf })
    }

    fn b(&self) -> &[u8] {
        self.buf.as_ref()
    }

    /// Byte 0.
    pub fn peripheral(&self) -> Peripheral {
        Peripheral::from_byte(get_u8(self.b(), 0))
    }
    /// VERSION (e.g. 06h for SPC-4).
    pub fn version(&self) -> u8 {
        get_u8(self.b(), 2)
    }
    /// RESPONSE DATA FORMAT (2h for SPC-2 and later).
    pub fn response_data_format(&self) -> u8 {
        get_u8(self.b(), 3) & 0x0F
    }
    /// TPGS.
    pub fn tpgs(&self) -> Tpgs {
        Tpgs::from_bits(get_u8(self.b(), 5) >> 4)
    }
    /// T10 VENDOR IDENTIFICATION (8 ASCII bytes, space padded).
    pub fn vendor(&self) -> [u8; 8] {
        get_arr(self.b(), 8)
    }
    /// PRODUCT IDENTIFICATION (16 bytes).
    pub fn product(&self) -> [u8; 16] {
        get_arr(self.b(), 16)
    }
    /// PRODUCT REVISION LEVEL (4 bytes).
    pub fn revision(&self) -> [u8; 4] {
        get_arr(self.b(), 32)
    }
}

/// The first 36 bytes of standard INQUIRY data as values. Obsolete and
/// vendor-specific bits are dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct InquiryRepr {
    /// Byte 0.
    pub peripheral: Peripheral,
    /// RMB: removable medium.
    pub rmb: bool,
    /// VERSION.
    pub version: u8,
    /// NORMACA.
    pub normaca: bool,
    /// HISUP: hierarchical LUN addressing.
    pub hisup: bool,
    /// RESPONSE DATA FORMAT (4 bits).
    pub response_data_format: u8,
    /// SCCS: embedded storage array controller.
    pub sccs: bool,
    /// ACC: access controls coordinator.
    pub acc: bool,
    /// TPGS: ALUA support.
    pub tpgs: Tpgs,
    /// 3PC: third-party copy.
    pub third_party_copy: bool,
    /// PROTECT: protection information supported.
    pub protect: bool,
    /// ENCSERV: enclosure services.
    pub encserv: bool,
    /// MULTIP: multi-port device.
    pub multip: bool,
    /// CMDQUE: command queuing.
    pub cmdque: bool,
    /// T10 VENDOR IDENTIFICATION.
    pub vendor: [u8; 8],
    /// PRODUCT IDENTIFICATION.
    pub product: [u8; 16],
    /// PRODUCT REVISION LEVEL.
    pub revision: [u8; 4],
}

/// `b` as text without trailing spaces (INQUIRY strings are space padded),
/// or `None` if it is not ASCII.
pub fn trim_ascii(b: &[u8]) -> Option<&str> {
    let s = core::str::from_utf8(b).ok().filter(|s| s.is_ascii())?;
    Some(s.trim_end_matches([' ', '\0']))
}

impl InquiryRepr {
    /// Read from a checked view.
    pub fn parse<T: AsRef<[u8]>>(v: &Inquiry<T>) -> Self {
        let b = v.b();
        let (b1, b3, b5, b6, b7) = (
            get_u8(b, 1),
            get_u8(b, 3),
            get_u8(b, 5),
            get_u8(b, 6),
            get_u8(b, 7),
        );
        InquiryRepr {
            peripheral: v.peripheral(),
            rmb: b1 & 0x80 != 0,
            version: v.version(),
            normaca: b3 & 0x20 != 0,
            hisup: b3 & 0x10 != 0,
            response_data_format: v.response_data_format(),
            sccs: b5 & 0x80 != 0,
            acc: b5 & 0x40 != 0,
            tpgs: v.tpgs(),
            third_party_copy: b5 & 0x08 != 0,
            protect: b5 & 0x01 != 0,
            encserv: b6 & 0x40 != 0,
            multip: b6 & 0x10 != 0,
            cmdque: b7 & 0x02 != 0,
            vendor: v.vendor(),
            product: v.product(),
            revision: v.revision(),
        }
    }

    /// Validate and parse in one step.
    pub fn parse_bytes(b: &[u8]) -> Result<Self, WireError> {
        Inquiry::new_checked(b).map(|v| Self::parse(&v))
    }

    /// T10 VENDOR IDENTIFICATION as text.
    pub fn vendor_str(&self) -> Option<&str> {
        trim_ascii(&self.vendor)
    }
    /// PRODUCT IDENTIFICATION as text.
    pub fn product_str(&self) -> Option<&str> {
        trim_ascii(&self.product)
    }
    /// PRODUCT REVISION LEVEL as text.
    pub fn revision_str(&self) -> Option<&str> {
        trim_ascii(&self.revision)
    }

    /// The bytes `emit` writes (36, with ADDITIONAL LENGTH 31).
    pub const fn buffer_len(&self) -> usize {
        STANDARD_LEN
    }

    /// Write the 36 bytes; returns the length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        room(buf, STANDARD_LEN, "standard INQUIRY data")?;
        zero(buf, 0, STANDARD_LEN, "standard INQUIRY data")?;
        if self.response_data_format > 0x0F {
            return Err(WireError::out_of_range("RESPONSE DATA FORMAT", 3));
        }
        let bit = |on: bool, mask: u8| if on { mask } else { 0 };
        let bytes = [
            self.peripheral.to_byte()?,
            bit(self.rmb, 0x80),
            self.version,
            bit(self.normaca, 0x20) | bit(self.hisup, 0x10) | self.response_data_format,
            ADDITIONAL_LEN_36,
            bit(self.sccs, 0x80)
                | bit(self.acc, 0x40)
                | self.tpgs.bits() << 4
                | bit(self.third_party_copy, 0x08)
                | bit(self.protect, 0x01),
            bit(self.encserv, 0x40) | bit(self.multip, 0x10),
            bit(self.cmdque, 0x02),
        ];
        put(buf, 0, &bytes, "standard INQUIRY data")?;
        put(buf, 8, &self.vendor, "T10 VENDOR IDENTIFICATION")?;
        put(buf, 16, &self.product, "PRODUCT IDENTIFICATION")?;
        put(buf, 32, &self.revision, "PRODUCT REVISION LEVEL")?;
        Ok(STANDARD_LEN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::WireErrorKind;
    use proptest::prelude::*;

    /// A Linux LIO target's answer, cut to 36 bytes by the allocation length
    /// (ADDITIONAL LENGTH says 66).
    const LIO: [u8; 36] = *b"\x00\x00\x06\x12\x42\x38\x12\x02LIO-ORG block0          4.0 ";

    #[test]
    fn lio_answer() {
        let v = Inquiry::new_checked(&LIO[..]).unwrap();
        let r = InquiryRepr::parse(&v);
        assert_eq!(r.peripheral, Peripheral::DISK);
        assert!(r.peripheral.is_connected());
        assert_eq!(r.version, 6);
        assert!(r.hisup && !r.normaca);
        assert_eq!(r.response_data_format, 2);
        assert_eq!(r.tpgs, Tpgs::Both);
        assert!(r.tpgs.implicit() && r.tpgs.explicit());
        assert!(r.third_party_copy && r.multip && r.cmdque);
        assert_eq!(r.vendor_str(), Some("LIO-ORG"));
        assert_eq!(r.product_str(), Some("block0"));
        assert_eq!(r.revision_str(), Some("4.0"));
        let mut out = [0u8; 36];
        r.emit(&mut out).unwrap();
        assert_eq!(out[4], 31);
        assert_eq!(InquiryRepr::parse_bytes(&out).unwrap(), r);
    }

    #[test]
    fn tpgs_bits() {
        for (bits, t, imp, exp) in [
            (0u8, Tpgs::NotSupported, false, false),
            (1, Tpgs::Implicit, true, false),
            (2, Tpgs::Explicit, false, true),
            (3, Tpgs::Both, true, true),
        ] {
            let mut b = LIO;
            b[5] = bits << 4;
            let v = Inquiry::new_checked(&b[..]).unwrap();
            assert_eq!(v.tpgs(), t);
            assert_eq!((t.implicit(), t.explicit()), (imp, exp));
        }
    }

    #[test]
    fn short_or_inconsistent_data_is_an_error() {
        assert_eq!(
            Inquiry::new_checked(&LIO[..35]).unwrap_err(),
            WireError::truncated("standard INQUIRY data", 0)
        );
        let mut b = LIO;
        b[4] = 30;
        assert_eq!(
            Inquiry::new_checked(&b[..]).unwrap_err().kind,
            WireErrorKind::LengthMismatch
        );
        assert_eq!(
            Inquiry::new_checked(&LIO[..4]).unwrap_err().field,
            "ADDITIONAL LENGTH"
        );
        assert_eq!(
            Peripheral::from_byte(0x7F),
            Peripheral {
                qualifier: 3,
                device_type: 0x1F
            }
        );
        assert!(Peripheral {
            qualifier: 8,
            device_type: 0
        }
        .to_byte()
        .is_err());
    }

    proptest! {
        #[test]
        fn parse_emit_parse_is_stable(mut b in proptest::array::uniform32(any::<u8>()), tail in any::<[u8; 4]>()) {
            let mut full = [0u8; 36];
            b[4] = b[4].max(31);
            full[..32].copy_from_slice(&b);
            full[32..].copy_from_slice(&tail);
            let r = InquiryRepr::parse_bytes(&full).unwrap();
            let mut out = [0u8; 36];
            r.emit(&mut out).unwrap();
            prop_assert_eq!(InquiryRepr::parse_bytes(&out).unwrap(), r);
        }
    }
}
