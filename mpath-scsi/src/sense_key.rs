//! Sense keys (SPC-4 4.5.6, table 48) and the sense-key specific field
//! (SPC-4 4.5.2.4), whose layout depends on the sense key.

use core::fmt;

/// SENSE KEY: the broad class of a CHECK CONDITION.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // The names are the standard's; see `name()`.
pub enum SenseKey {
    NoSense = 0x0,
    RecoveredError = 0x1,
    NotReady = 0x2,
    MediumError = 0x3,
    HardwareError = 0x4,
    IllegalRequest = 0x5,
    UnitAttention = 0x6,
    DataProtect = 0x7,
    BlankCheck = 0x8,
    VendorSpecific = 0x9,
    CopyAborted = 0xA,
    AbortedCommand = 0xB,
    /// 0Ch: obsolete in SPC-4 (was EQUAL in SPC-2).
    Equal = 0xC,
    VolumeOverflow = 0xD,
    Miscompare = 0xE,
    Completed = 0xF,
}

impl SenseKey {
    /// Every sense key, in code order.
    pub const ALL: [SenseKey; 16] = [
        SenseKey::NoSense,
        SenseKey::RecoveredError,
        SenseKey::NotReady,
        SenseKey::MediumError,
        SenseKey::HardwareError,
        SenseKey::IllegalRequest,
        SenseKey::UnitAttention,
        SenseKey::DataProtect,
        SenseKey::BlankCheck,
        SenseKey::VendorSpecific,
        SenseKey::CopyAborted,
        SenseKey::AbortedCommand,
        SenseKey::Equal,
        SenseKey::VolumeOverflow,
        SenseKey::Miscompare,
        SenseKey::Completed,
    ];

    /// The key in the low nibble of `b` (the SENSE KEY field is 4 bits wide,
    /// so every value is defined).
    pub const fn from_nibble(b: u8) -> Self {
        match b & 0x0F {
            0x0 => SenseKey::NoSense,
            0x1 => SenseKey::RecoveredError,
            0x2 => SenseKey::NotReady,
            0x3 => SenseKey::MediumError,
            0x4 => SenseKey::HardwareError,
            0x5 => SenseKey::IllegalRequest,
            0x6 => SenseKey::UnitAttention,
            0x7 => SenseKey::DataProtect,
            0x8 => SenseKey::BlankCheck,
            0x9 => SenseKey::VendorSpecific,
            0xA => SenseKey::CopyAborted,
            0xB => SenseKey::AbortedCommand,
            0xC => SenseKey::Equal,
            0xD => SenseKey::VolumeOverflow,
            0xE => SenseKey::Miscompare,
            _ => SenseKey::Completed,
        }
    }

    /// The 4-bit code.
    pub const fn code(self) -> u8 {
        // A fieldless enum with explicit u8-range discriminants.
        #[allow(clippy::as_conversions, clippy::cast_possible_truncation)]
        let c = self as u8;
        c
    }

    /// The name as sg3_utils' `sg_decode_sense` prints it (the cross-check
    /// test holds us to that).
    pub const fn name(self) -> &'static str {
        match self {
            SenseKey::NoSense => "No Sense",
            SenseKey::RecoveredError => "Recovered Error",
            SenseKey::NotReady => "Not Ready",
            SenseKey::MediumError => "Medium Error",
            SenseKey::HardwareError => "Hardware Error",
            SenseKey::IllegalRequest => "Illegal Request",
            SenseKey::UnitAttention => "Unit Attention",
            SenseKey::DataProtect => "Data Protect",
            SenseKey::BlankCheck => "Blank Check",
            SenseKey::VendorSpecific => "Vendor specific",
            SenseKey::CopyAborted => "Copy Aborted",
            SenseKey::AbortedCommand => "Aborted Command",
            SenseKey::Equal => "Equal",
            SenseKey::VolumeOverflow => "Volume Overflow",
            SenseKey::Miscompare => "Miscompare",
            SenseKey::Completed => "Completed",
        }
    }
}

impl fmt::Display for SenseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The SENSE KEY SPECIFIC field once SKSV is set. Which layout applies is
/// decided by the sense key (SPC-4 4.5.2.4.1, table 29).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SenseKeySpecific {
    /// ILLEGAL REQUEST (SPC-4 4.5.2.4.2): which byte (and bit) was wrong.
    FieldPointer {
        /// C/D: the error is in the CDB (true) or in parameter data (false).
        command: bool,
        /// BIT POINTER, when BPV is set.
        bit: Option<u8>,
        /// FIELD POINTER: the byte number.
        field: u16,
    },
    /// RECOVERED / MEDIUM / HARDWARE ERROR (4.5.2.4.3): ACTUAL RETRY COUNT.
    RetryCount(u16),
    /// NOT READY or NO SENSE (4.5.2.4.4): PROGRESS INDICATION, the fraction
    /// done in units of 1/65536.
    Progress(u16),
    /// COPY ABORTED (4.5.2.4.5): the segment descriptor or parameter byte.
    SegmentPointer {
        /// SD: the pointer is relative to a segment descriptor (true) or to
        /// the parameter list (false).
        segment_descriptor: bool,
        /// BIT POINTER, when BPV is set.
        bit: Option<u8>,
        /// FIELD POINTER.
        field: u16,
    },
    /// UNIT ATTENTION (4.5.2.4.6): OVERFLOW, the unit attention queue
    /// overflowed and conditions were lost.
    UnitAttentionOverflow(bool),
    /// Any other sense key: the 23 bits after SKSV, unchanged.
    Other([u8; 3]),
}

const SKSV: u8 = 0x80;
const BPV: u8 = 0x08;

impl SenseKeySpecific {
    /// Decode the 3-byte field for `key`; `None` if SKSV is clear.
    ///
    /// Reserved bits are dropped, so a re-emitted field is canonical.
    pub fn decode(key: SenseKey, b: [u8; 3]) -> Option<Self> {
        let [b0, b1, b2] = b;
        if b0 & SKSV == 0 {
            return None;
        }
        let field = u16::from_be_bytes([b1, b2]);
        let bit = if b0 & BPV != 0 { Some(b0 & 0x07) } else { None };
        Some(match key {
            SenseKey::IllegalRequest => SenseKeySpecific::FieldPointer {
                command: b0 & 0x40 != 0,
                bit,
                field,
            },
            SenseKey::RecoveredError | SenseKey::MediumError | SenseKey::HardwareError => {
                SenseKeySpecific::RetryCount(field)
            }
            SenseKey::NotReady | SenseKey::NoSense => SenseKeySpecific::Progress(field),
            SenseKey::CopyAborted => SenseKeySpecific::SegmentPointer {
                segment_descriptor: b0 & 0x20 != 0,
                bit,
                field,
            },
            SenseKey::UnitAttention => SenseKeySpecific::UnitAttentionOverflow(b0 & 0x01 != 0),
            _ => SenseKeySpecific::Other([b0 & !SKSV, b1, b2]),
        })
    }

    /// The 3 bytes with SKSV set.
    pub fn encode(self) -> [u8; 3] {
        let bits = |bit: Option<u8>| bit.map_or(0, |b| BPV | (b & 0x07));
        match self {
            SenseKeySpecific::FieldPointer {
                command,
                bit,
                field,
            } => {
                let [h, l] = field.to_be_bytes();
                [SKSV | if command { 0x40 } else { 0 } | bits(bit), h, l]
            }
            SenseKeySpecific::RetryCount(v) | SenseKeySpecific::Progress(v) => {
                let [h, l] = v.to_be_bytes();
                [SKSV, h, l]
            }
            SenseKeySpecific::SegmentPointer {
                segment_descriptor,
                bit,
                field,
            } => {
                let [h, l] = field.to_be_bytes();
                [
                    SKSV | if segment_descriptor { 0x20 } else { 0 } | bits(bit),
                    h,
                    l,
                ]
            }
            SenseKeySpecific::UnitAttentionOverflow(o) => [SKSV | u8::from(o), 0, 0],
            SenseKeySpecific::Other([b0, b1, b2]) => [SKSV | b0, b1, b2],
        }
    }

    /// A progress indication in hundredths of a percent (0..=9999), rounded
    /// down as sg3_utils does.
    pub fn progress_basis_points(self) -> Option<u32> {
        match self {
            SenseKeySpecific::Progress(v) => Some(u32::from(v).saturating_mul(10_000) >> 16),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_round_trips_through_its_nibble() {
        for (i, k) in SenseKey::ALL.iter().enumerate() {
            assert_eq!(usize::from(k.code()), i);
            assert_eq!(SenseKey::from_nibble(k.code() | 0xF0), *k);
        }
    }

    #[test]
    fn sks_layout_follows_the_sense_key() {
        use SenseKeySpecific as S;
        let cases: &[(SenseKey, [u8; 3], Option<S>)] = &[
            (SenseKey::IllegalRequest, [0x00, 0, 2], None),
            (
                SenseKey::IllegalRequest,
                [0xC0, 0x00, 0x02],
                Some(S::FieldPointer {
                    command: true,
                    bit: None,
                    field: 2,
                }),
            ),
            (
                SenseKey::IllegalRequest,
                [0x8D, 0x01, 0x00],
                Some(S::FieldPointer {
                    command: false,
                    bit: Some(5),
                    field: 256,
                }),
            ),
            (
                SenseKey::NotReady,
                [0x80, 0x80, 0x00],
                Some(S::Progress(0x8000)),
            ),
            (
                SenseKey::MediumError,
                [0x80, 0x00, 0x03],
                Some(S::RetryCount(3)),
            ),
            (
                SenseKey::CopyAborted,
                [0xA9, 0x00, 0x10],
                Some(S::SegmentPointer {
                    segment_descriptor: true,
                    bit: Some(1),
                    field: 16,
                }),
            ),
            (
                SenseKey::UnitAttention,
                [0x81, 0, 0],
                Some(S::UnitAttentionOverflow(true)),
            ),
            (
                SenseKey::DataProtect,
                [0x85, 1, 2],
                Some(S::Other([0x05, 1, 2])),
            ),
        ];
        for &(key, bytes, want) in cases {
            let got = SenseKeySpecific::decode(key, bytes);
            assert_eq!(got, want, "{key} {bytes:02x?}");
            if let Some(s) = got {
                assert_eq!(s.encode(), bytes, "{key}");
            }
        }
        assert_eq!(S::Progress(0x8000).progress_basis_points(), Some(5000));
        assert_eq!(S::Progress(0x0040).progress_basis_points(), Some(9));
        assert_eq!(S::RetryCount(1).progress_basis_points(), None);
    }
}
