//! The one error type of this crate's codecs.
//!
//! Every codec reports where it gave up: which field and at which byte offset
//! (from the start of the buffer handed to `new_checked`, `parse` or `emit`), in
//! the style of RustCrypto `der`. One shared type rather than one per page
//! because the failure modes are the same everywhere (SPC-4 formats are all
//! "header with a length, then descriptors with lengths") and callers mostly log
//! them.

use core::fmt;

/// What went wrong, independent of where.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum WireErrorKind {
    /// The buffer ends before the field does.
    Truncated,
    /// Two length fields (or a length field and the data) disagree, or a
    /// length has a value the format forbids (e.g. not a multiple of 4).
    LengthMismatch,
    /// A format, response code or type this codec does not know.
    UnknownFormat,
    /// A field holds a value the standard reserves, or reserved bits are set
    /// where round-tripping needs them clear.
    Reserved,
    /// `emit` was given a buffer smaller than `buffer_len()`.
    BufferTooSmall,
    /// A value does not fit the field (e.g. an LBA above 2^32 - 1 in READ(10)).
    OutOfRange,
}

impl fmt::Display for WireErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WireErrorKind::Truncated => "truncated",
            WireErrorKind::LengthMismatch => "length mismatch",
            WireErrorKind::UnknownFormat => "unknown format",
            WireErrorKind::Reserved => "reserved value",
            WireErrorKind::BufferTooSmall => "buffer too small",
            WireErrorKind::OutOfRange => "value out of range",
        })
    }
}

/// A codec error: what, in which field, at which byte offset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[error("{kind} in {field} at byte {offset}")]
#[non_exhaustive]
pub struct WireError {
    /// What went wrong.
    pub kind: WireErrorKind,
    /// The field's name in the standard's words (e.g. "ADDITIONAL SENSE LENGTH").
    pub field: &'static str,
    /// Byte offset of the field from the start of the buffer.
    pub offset: usize,
}

impl WireError {
    /// A new error.
    pub const fn new(kind: WireErrorKind, field: &'static str, offset: usize) -> Self {
        WireError {
            kind,
            field,
            offset,
        }
    }
    pub(crate) const fn truncated(field: &'static str, offset: usize) -> Self {
        Self::new(WireErrorKind::Truncated, field, offset)
    }
    pub(crate) const fn mismatch(field: &'static str, offset: usize) -> Self {
        Self::new(WireErrorKind::LengthMismatch, field, offset)
    }
    pub(crate) const fn unknown(field: &'static str, offset: usize) -> Self {
        Self::new(WireErrorKind::UnknownFormat, field, offset)
    }
    pub(crate) const fn reserved(field: &'static str, offset: usize) -> Self {
        Self::new(WireErrorKind::Reserved, field, offset)
    }
    pub(crate) const fn too_small(field: &'static str, offset: usize) -> Self {
        Self::new(WireErrorKind::BufferTooSmall, field, offset)
    }
    pub(crate) const fn out_of_range(field: &'static str, offset: usize) -> Self {
        Self::new(WireErrorKind::OutOfRange, field, offset)
    }

    /// The same error with its offset moved by `base`, for errors found in a
    /// descriptor that sits at `base` inside a larger buffer.
    #[must_use]
    pub const fn at(self, base: usize) -> Self {
        WireError {
            offset: self.offset.saturating_add(base),
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn display_names_field_and_offset() {
        let e = WireError::truncated("ADDITIONAL SENSE LENGTH", 7).at(10);
        assert_eq!(e.offset, 17);
        assert_eq!(
            e.to_string(),
            "truncated in ADDITIONAL SENSE LENGTH at byte 17"
        );
    }
}
