//! Sense data (SPC-4 4.5): fixed format (response codes 70h/71h, SPC-4 4.5.3)
//! and descriptor format (72h/73h, SPC-4 4.5.2), behind one view and one
//! [`SenseRepr`].
//!
//! SPC-4 4.5.1 lets a device server truncate sense data to the initiator's
//! allocation length without changing the ADDITIONAL SENSE LENGTH, and Linux
//! hands us at most 96 bytes (SCSI_SENSE_BUFFERSIZE). So there are two ways in:
//! [`Sense::new_checked`] insists the buffer holds everything the length fields
//! claim (what a codec round-trip needs), and [`Sense::new_truncated`] accepts
//! a buffer cut short and reads only what is there (what the classifier needs:
//! the sense key and ASC/ASCQ sit in the first 14 bytes).

use crate::error::WireError;
use crate::sense_key::{SenseKey, SenseKeySpecific};
use crate::wire::{
    get_arr, get_be32, get_be64, get_from, get_range, get_u8, need, put, room, write_at, zero,
    List, WireItem,
};

/// Fixed format, current error.
pub const FIXED_CURRENT: u8 = 0x70;
/// Fixed format, deferred error.
pub const FIXED_DEFERRED: u8 = 0x71;
/// Descriptor format, current error.
pub const DESCRIPTOR_CURRENT: u8 = 0x72;
/// Descriptor format, deferred error.
pub const DESCRIPTOR_DEFERRED: u8 = 0x73;

/// Bytes up to and including ADDITIONAL SENSE LENGTH, in both formats.
const HEADER_LEN: usize = 8;
/// The fixed-format length with every standard field (additional length 0Ah).
const FIXED_LEN: usize = 18;
const ADDITIONAL_LEN: usize = 7;

/// Descriptor types (SPC-4 4.5.2.1, table 27) with a fixed ADDITIONAL LENGTH.
const DESC_INFORMATION: u8 = 0x00;
const DESC_COMMAND_SPECIFIC: u8 = 0x01;
const DESC_SKS: u8 = 0x02;
const DESC_FRU: u8 = 0x03;
const DESC_STREAM: u8 = 0x04;
const DESC_BLOCK: u8 = 0x05;

/// The ADDITIONAL LENGTH a descriptor type must carry, where SPC-4 fixes it.
const fn expected_additional_len(dtype: u8) -> Option<u8> {
    match dtype {
        DESC_INFORMATION | DESC_COMMAND_SPECIFIC => Some(0x0A),
        DESC_SKS => Some(0x06),
        DESC_FRU | DESC_STREAM | DESC_BLOCK => Some(0x02),
        _ => None,
    }
}

/// Which of the two layouts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SenseFormat {
    /// SPC-4 4.5.3: fixed offsets, 32-bit INFORMATION.
    Fixed,
    /// SPC-4 4.5.2: header plus typed descriptors, 64-bit INFORMATION.
    Descriptor,
}

/// One sense data descriptor (SPC-4 4.5.2.1): DESCRIPTOR TYPE and the bytes
/// after the 2-byte header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SenseDescriptor<'a> {
    /// DESCRIPTOR TYPE.
    pub descriptor_type: u8,
    /// Bytes 2.. of the descriptor (ADDITIONAL LENGTH of them).
    pub data: &'a [u8],
}

impl<'a> WireItem<'a> for SenseDescriptor<'a> {
    fn decode(buf: &'a [u8]) -> Result<(Self, usize), WireError> {
        need(buf, 2, "DESCRIPTOR TYPE", 0)?;
        let dtype = get_u8(buf, 0);
        let add = get_u8(buf, 1);
        if expected_additional_len(dtype).is_some_and(|want| want != add) {
            return Err(WireError::mismatch("ADDITIONAL LENGTH", 1));
        }
        let len = usize::from(add).saturating_add(2);
        need(buf, len, "sense data descriptor", 2)?;
        let d = SenseDescriptor {
            descriptor_type: dtype,
            data: get_range(buf, 2, len),
        };
        Ok((d, len))
    }
    fn encoded_len(&self) -> usize {
        self.data.len().saturating_add(2)
    }
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let add = crate::wire::len_u8(self.data.len(), "ADDITIONAL LENGTH", 1)?;
        put(buf, 0, &[self.descriptor_type, add], "DESCRIPTOR TYPE")?;
        put(buf, 2, self.data, "sense data descriptor")
    }
}

/// A checked view of sense data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sense<T: AsRef<[u8]>> {
    buf: T,
    /// Bytes that are both present and covered by ADDITIONAL SENSE LENGTH
    /// (for descriptor format: up to the last whole descriptor).
    len: usize,
    truncated: bool,
}

impl<T: AsRef<[u8]>> Sense<T> {
    /// Validate `buf` strictly: the buffer must hold all bytes that ADDITIONAL
    /// SENSE LENGTH and every descriptor length claim. Bytes beyond ADDITIONAL
    /// SENSE LENGTH (a zero-filled sense buffer) are ignored.
    pub fn new_checked(buf: T) -> Result<Self, WireError> {
        Self::check(buf, false)
    }

    /// Validate `buf`, accepting sense data that the transport cut short
    /// (SPC-4 4.5.1): only the bytes present are read, a partial trailing
    /// descriptor is ignored, and fields that are missing read as absent or
    /// zero. The buffer must reach the SENSE KEY.
    pub fn new_truncated(buf: T) -> Result<Self, WireError> {
        Self::check(buf, true)
    }

    fn check(buf: T, allow_truncated: bool) -> Result<Self, WireError> {
        let b = buf.as_ref();
        need(b, 1, "RESPONSE CODE", 0)?;
        let code = get_u8(b, 0) & 0x7F;
        if !matches!(
            code,
            FIXED_CURRENT | FIXED_DEFERRED | DESCRIPTOR_CURRENT | DESCRIPTOR_DEFERRED
        ) {
            // 7Fh is vendor specific format; anything else is reserved.
            return Err(WireError::unknown("RESPONSE CODE", 0));
        }
        let descriptor = matches!(code, DESCRIPTOR_CURRENT | DESCRIPTOR_DEFERRED);
        if allow_truncated && b.len() < HEADER_LEN {
            // Cut inside the header: like the kernel's scsi_normalize_sense,
            // read what is there (the sense key at least) and no more.
            let key_at: usize = if descriptor { 1 } else { 2 };
            need(b, key_at.saturating_add(1), "SENSE KEY", key_at)?;
            return Ok(Sense {
                len: b.len(),
                buf,
                truncated: true,
            });
        }
        need(b, HEADER_LEN, "ADDITIONAL SENSE LENGTH", ADDITIONAL_LEN)?;
        let claimed = usize::from(get_u8(b, ADDITIONAL_LEN)).saturating_add(HEADER_LEN);
        let truncated = b.len() < claimed;
        if truncated && !allow_truncated {
            return Err(WireError::truncated(
                "ADDITIONAL SENSE LENGTH",
                ADDITIONAL_LEN,
            ));
        }
        let mut len = claimed.min(b.len());
        if descriptor {
            let area = get_range(b, HEADER_LEN, len);
            let mut at = 0usize;
            while let Some(rest) = area.get(at..).filter(|r| !r.is_empty()) {
                match SenseDescriptor::decode(rest) {
                    Ok((_, n)) => at = at.saturating_add(n),
                    Err(e) if allow_truncated && e.kind == crate::WireErrorKind::Truncated => break,
                    Err(e) => return Err(e.at(HEADER_LEN.saturating_add(at))),
                }
            }
            len = HEADER_LEN.saturating_add(at);
        }
        Ok(Sense {
            buf,
            len,
            truncated,
        })
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buf
    }

    fn b(&self) -> &[u8] {
        get_range(self.buf.as_ref(), 0, self.len)
    }

    /// RESPONSE CODE (70h..73h).
    pub fn response_code(&self) -> u8 {
        get_u8(self.b(), 0) & 0x7F
    }

    /// Fixed or descriptor format.
    pub fn format(&self) -> SenseFormat {
        match self.response_code() {
            FIXED_CURRENT | FIXED_DEFERRED => SenseFormat::Fixed,
            _ => SenseFormat::Descriptor,
        }
    }

    /// Whether this reports a deferred error (71h/73h): a failure of an
    /// earlier command, not the one that got this CHECK CONDITION.
    pub fn is_deferred(&self) -> bool {
        matches!(self.response_code(), FIXED_DEFERRED | DESCRIPTOR_DEFERRED)
    }

    /// Whether the buffer held fewer bytes than ADDITIONAL SENSE LENGTH claims.
    pub fn is_truncated(&self) -> bool {
        self.truncated
    }

    fn fixed(&self) -> bool {
        self.format() == SenseFormat::Fixed
    }

    /// SENSE KEY.
    pub fn key(&self) -> SenseKey {
        SenseKey::from_nibble(get_u8(self.b(), if self.fixed() { 2 } else { 1 }))
    }

    /// ADDITIONAL SENSE CODE (0 if the sense data is too short to hold it).
    pub fn asc(&self) -> u8 {
        get_u8(self.b(), if self.fixed() { 12 } else { 2 })
    }

    /// ADDITIONAL SENSE CODE QUALIFIER (0 if absent).
    pub fn ascq(&self) -> u8 {
        get_u8(self.b(), if self.fixed() { 13 } else { 3 })
    }

    /// The descriptors (descriptor format only; empty for fixed format).
    pub fn descriptors(&self) -> crate::wire::ListIter<'_, SenseDescriptor<'_>> {
        let area = if self.fixed() {
            &[]
        } else {
            get_from(self.b(), HEADER_LEN)
        };
        List::Wire(area).iter()
    }

    fn descriptor(&self, dtype: u8) -> Option<SenseDescriptor<'_>> {
        self.descriptors().find(|d| d.descriptor_type == dtype)
    }

    /// INFORMATION, if VALID is set: fixed format bytes 3-6, or descriptor
    /// type 00h (SPC-4 4.5.2.2) bytes 4-11.
    pub fn information(&self) -> Option<u64> {
        if self.fixed() {
            let b = self.b();
            (get_u8(b, 0) & 0x80 != 0).then(|| u64::from(get_be32(b, 3)))
        } else {
            let d = self.descriptor(DESC_INFORMATION)?;
            (get_u8(d.data, 0) & 0x80 != 0).then(|| get_be64(d.data, 2))
        }
    }

    /// COMMAND-SPECIFIC INFORMATION: fixed format bytes 8-11 when non-zero
    /// (zero is "not provided"), or descriptor type 01h (SPC-4 4.5.2.3).
    pub fn command_specific(&self) -> Option<u64> {
        if self.fixed() {
            let b = self.b();
            (b.len() >= 12)
                .then(|| u64::from(get_be32(b, 8)))
                .filter(|&v| v != 0)
        } else {
            self.descriptor(DESC_COMMAND_SPECIFIC)
                .map(|d| get_be64(d.data, 2))
        }
    }

    /// The sense-key specific field, if SKSV is set: fixed bytes 15-17 or
    /// descriptor type 02h (SPC-4 4.5.2.4) bytes 4-6.
    pub fn sks(&self) -> Option<SenseKeySpecific> {
        let raw = if self.fixed() {
            let b = self.b();
            if b.len() < FIXED_LEN {
                return None;
            }
            get_arr(b, 15)
        } else {
            get_arr(self.descriptor(DESC_SKS)?.data, 2)
        };
        SenseKeySpecific::decode(self.key(), raw)
    }

    /// FIELD REPLACEABLE UNIT CODE: fixed byte 14 when non-zero, or
    /// descriptor type 03h (SPC-4 4.5.2.5).
    pub fn fru(&self) -> Option<u8> {
        if self.fixed() {
            Some(get_u8(self.b(), 14)).filter(|&v| v != 0)
        } else {
            self.descriptor(DESC_FRU).map(|d| get_u8(d.data, 1))
        }
    }

    /// FILEMARK, EOM and ILI: fixed byte 2, or the stream commands (04h,
    /// SSC) and block commands (05h, SBC-3 4.18.2) descriptors.
    fn stream_bits(&self) -> u8 {
        if self.fixed() {
            get_u8(self.b(), 2) & 0xE0
        } else {
            self.descriptors()
                .filter(|d| matches!(d.descriptor_type, DESC_STREAM | DESC_BLOCK))
                .fold(0, |acc, d| {
                    let mask = if d.descriptor_type == DESC_STREAM {
                        0xE0
                    } else {
                        0x20
                    };
                    acc | (get_u8(d.data, 1) & mask)
                })
        }
    }

    /// FILEMARK.
    pub fn filemark(&self) -> bool {
        self.stream_bits() & 0x80 != 0
    }
    /// EOM (end of medium).
    pub fn eom(&self) -> bool {
        self.stream_bits() & 0x40 != 0
    }
    /// ILI (incorrect length indicator).
    pub fn ili(&self) -> bool {
        self.stream_bits() & 0x20 != 0
    }

    /// SDAT_OVFL: the sense data did not fit the device's own buffer.
    pub fn sdat_ovfl(&self) -> bool {
        let (at, mask) = if self.fixed() { (2, 0x10) } else { (4, 0x80) };
        get_u8(self.b(), at) & mask != 0
    }
}

/// Sense data in either format, as values.
///
/// Parsing keeps the fields this type names and drops the rest (vendor
/// descriptors, additional sense bytes past byte 17, reserved bits); emitting
/// writes the canonical layout: 18 bytes for fixed format, and for descriptor
/// format descriptors 00h, 01h, 02h, 03h, then 04h or 05h, as needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SenseRepr {
    /// Which layout.
    pub format: SenseFormat,
    /// A deferred error (71h/73h).
    pub deferred: bool,
    /// SENSE KEY.
    pub key: SenseKey,
    /// ADDITIONAL SENSE CODE.
    pub asc: u8,
    /// ADDITIONAL SENSE CODE QUALIFIER.
    pub ascq: u8,
    /// INFORMATION with VALID set. Fixed format holds 32 bits.
    pub information: Option<u64>,
    /// COMMAND-SPECIFIC INFORMATION. Fixed format holds 32 bits and cannot
    /// say `Some(0)` (emitting it is `OutOfRange`).
    pub command_specific: Option<u64>,
    /// The sense-key specific field with SKSV set.
    pub sks: Option<SenseKeySpecific>,
    /// FIELD REPLACEABLE UNIT CODE. Fixed format cannot say `Some(0)`
    /// (emitting it is `OutOfRange`).
    pub fru: Option<u8>,
    /// FILEMARK.
    pub filemark: bool,
    /// EOM.
    pub eom: bool,
    /// ILI.
    pub ili: bool,
    /// SDAT_OVFL.
    pub sdat_ovfl: bool,
}

impl SenseRepr {
    /// Minimal sense data: key and ASC/ASCQ, current error.
    pub const fn new(format: SenseFormat, key: SenseKey, asc: u8, ascq: u8) -> Self {
        SenseRepr {
            format,
            deferred: false,
            key,
            asc,
            ascq,
            information: None,
            command_specific: None,
            sks: None,
            fru: None,
            filemark: false,
            eom: false,
            ili: false,
            sdat_ovfl: false,
        }
    }

    /// Read the fields from a checked view.
    pub fn parse<T: AsRef<[u8]>>(s: &Sense<T>) -> Self {
        SenseRepr {
            format: s.format(),
            deferred: s.is_deferred(),
            key: s.key(),
            asc: s.asc(),
            ascq: s.ascq(),
            information: s.information(),
            command_specific: s.command_specific(),
            sks: s.sks(),
            fru: s.fru(),
            filemark: s.filemark(),
            eom: s.eom(),
            ili: s.ili(),
            sdat_ovfl: s.sdat_ovfl(),
        }
    }

    /// The ASC/ASCQ description, if [`crate::asc`] knows the pair.
    pub fn asc_text(&self) -> Option<&'static str> {
        crate::asc::asc_text(self.asc, self.ascq)
    }

    /// Validate strictly and parse in one step.
    pub fn parse_bytes(b: &[u8]) -> Result<Self, WireError> {
        Sense::new_checked(b).map(|s| Self::parse(&s))
    }

    /// The RESPONSE CODE this emits.
    pub const fn response_code(&self) -> u8 {
        match (self.format, self.deferred) {
            (SenseFormat::Fixed, false) => FIXED_CURRENT,
            (SenseFormat::Fixed, true) => FIXED_DEFERRED,
            (SenseFormat::Descriptor, false) => DESCRIPTOR_CURRENT,
            (SenseFormat::Descriptor, true) => DESCRIPTOR_DEFERRED,
        }
    }

    fn stream_descriptor(&self) -> Option<(u8, u8)> {
        let bits = if self.filemark { 0x80 } else { 0 }
            | if self.eom { 0x40 } else { 0 }
            | if self.ili { 0x20 } else { 0 };
        if self.filemark || self.eom {
            Some((DESC_STREAM, bits))
        } else if self.ili {
            Some((DESC_BLOCK, bits))
        } else {
            None
        }
    }

    /// The bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        match self.format {
            SenseFormat::Fixed => FIXED_LEN,
            SenseFormat::Descriptor => {
                let n = |present: bool, len: usize| if present { len } else { 0 };
                HEADER_LEN
                    .saturating_add(n(self.information.is_some(), 12))
                    .saturating_add(n(self.command_specific.is_some(), 12))
                    .saturating_add(n(self.sks.is_some(), 8))
                    .saturating_add(n(self.fru.is_some(), 4))
                    .saturating_add(n(self.stream_descriptor().is_some(), 4))
            }
        }
    }

    /// Write the sense data at the front of `buf`; returns its length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let len = self.buffer_len();
        room(buf, len, "sense data")?;
        zero(buf, 0, len, "sense data")?;
        match self.format {
            SenseFormat::Fixed => self.emit_fixed(buf)?,
            SenseFormat::Descriptor => self.emit_descriptor(buf)?,
        }
        Ok(len)
    }

    fn emit_fixed(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let fit32 = |v: Option<u64>, field, at| {
            u32::try_from(v.unwrap_or(0)).map_err(|_| WireError::out_of_range(field, at))
        };
        let info = fit32(self.information, "INFORMATION", 3)?;
        let csi = fit32(self.command_specific, "COMMAND-SPECIFIC INFORMATION", 8)?;
        // Zero means "not provided" in the fixed format (SPC-4 4.5.3), so
        // `Some(0)` would come back as `None`: refuse rather than lose it.
        if self.command_specific == Some(0) {
            return Err(WireError::out_of_range("COMMAND-SPECIFIC INFORMATION", 8));
        }
        if self.fru == Some(0) {
            return Err(WireError::out_of_range("FIELD REPLACEABLE UNIT CODE", 14));
        }
        let valid = if self.information.is_some() { 0x80 } else { 0 };
        let flags = if self.filemark { 0x80 } else { 0 }
            | if self.eom { 0x40 } else { 0 }
            | if self.ili { 0x20 } else { 0 }
            | if self.sdat_ovfl { 0x10 } else { 0 };
        put(
            buf,
            0,
            &[valid | self.response_code(), 0, flags | self.key.code()],
            "RESPONSE CODE",
        )?;
        put(buf, 3, &info.to_be_bytes(), "INFORMATION")?;
        // ADDITIONAL SENSE LENGTH: 0Ah covers bytes 8-17 (SPC-4 4.5.3).
        put(buf, ADDITIONAL_LEN, &[0x0A], "ADDITIONAL SENSE LENGTH")?;
        put(buf, 8, &csi.to_be_bytes(), "COMMAND-SPECIFIC INFORMATION")?;
        put(
            buf,
            12,
            &[self.asc, self.ascq, self.fru.unwrap_or(0)],
            "ADDITIONAL SENSE CODE",
        )?;
        if let Some(sks) = self.sks {
            put(buf, 15, &sks.encode(), "SENSE KEY SPECIFIC")?;
        }
        Ok(())
    }

    fn emit_descriptor(&self, buf: &mut [u8]) -> Result<(), WireError> {
        let add = crate::wire::len_u8(
            self.buffer_len().saturating_sub(HEADER_LEN),
            "ADDITIONAL SENSE LENGTH",
            ADDITIONAL_LEN,
        )?;
        let ovfl = if self.sdat_ovfl { 0x80 } else { 0 };
        put(
            buf,
            0,
            &[
                self.response_code(),
                self.key.code(),
                self.asc,
                self.ascq,
                ovfl,
                0,
                0,
                add,
            ],
            "RESPONSE CODE",
        )?;
        let mut at = HEADER_LEN;
        let mut desc = |dtype: u8, body: &[u8], buf: &mut [u8]| -> Result<(), WireError> {
            let d = SenseDescriptor {
                descriptor_type: dtype,
                data: body,
            };
            write_at(buf, at, "sense data descriptor", |b| d.encode(b))?;
            at = at.saturating_add(d.encoded_len());
            Ok(())
        };
        if let Some(info) = self.information {
            // VALID shall be set to one (SPC-4 4.5.2.2).
            desc(DESC_INFORMATION, &u64_body(0x80, info), buf)?;
        }
        if let Some(csi) = self.command_specific {
            desc(DESC_COMMAND_SPECIFIC, &u64_body(0, csi), buf)?;
        }
        if let Some(sks) = self.sks {
            let [a, b, c] = sks.encode();
            desc(DESC_SKS, &[0, 0, a, b, c, 0], buf)?;
        }
        if let Some(fru) = self.fru {
            desc(DESC_FRU, &[0, fru], buf)?;
        }
        if let Some((dtype, bits)) = self.stream_descriptor() {
            desc(dtype, &[0, bits], buf)?;
        }
        Ok(())
    }
}

impl core::fmt::Display for SenseRepr {
    /// `Unit Attention 2A/06 (Asymmetric access state changed)`: key name,
    /// ASC/ASCQ in hex, and the description when known.
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{} {:02X}/{:02X}", self.key, self.asc, self.ascq)?;
        if let Some(text) = self.asc_text() {
            write!(f, " ({text})")?;
        }
        if self.deferred {
            f.write_str(" [deferred]")?;
        }
        Ok(())
    }
}

/// The body of descriptor 00h or 01h: a flags byte, a reserved byte, and a
/// 64-bit value.
fn u64_body(flags: u8, v: u64) -> [u8; 10] {
    let [a, b, c, d, e, f, g, h] = v.to_be_bytes();
    [flags, 0, a, b, c, d, e, f, g, h]
}

#[cfg(test)]
#[path = "sense_tests.rs"]
mod tests;
