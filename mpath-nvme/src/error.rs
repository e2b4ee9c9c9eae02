//! Errors of the wire codecs.
//!
//! Every parse error names the field it tripped on and the byte offset of that
//! field within the structure being parsed (as `der` does), so a malformed log
//! page from a real controller can be located with a hex dump.

/// Why a byte string could not be parsed, or a value could not be emitted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The buffer ends before `field`, which starts at `offset` and needs
    /// `needed` bytes.
    #[error("truncated: {field} at offset {offset} needs {needed} bytes")]
    Truncated {
        /// Spec name of the field.
        field: &'static str,
        /// Byte offset of the field in the parsed structure.
        offset: usize,
        /// Length of the field in bytes.
        needed: usize,
    },
    /// `field` at `offset` holds a value the specification does not allow.
    #[error("invalid {field} at offset {offset}: {value:#x}")]
    Invalid {
        /// Spec name of the field.
        field: &'static str,
        /// Byte offset of the field in the parsed structure (0 for command
        /// dwords, whose "offset" is the dword itself).
        offset: usize,
        /// The offending value.
        value: u64,
    },
    /// The output buffer cannot hold what is to be emitted.
    #[error("buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// A value to be emitted does not fit its field (for instance a list
    /// longer than its 16-bit count can say).
    #[error("{field} does not fit: {value:#x}")]
    Overflow {
        /// Spec name of the field.
        field: &'static str,
        /// The value that does not fit.
        value: u64,
    },
}

/// Shorthand for results of this crate.
pub type Result<T> = core::result::Result<T, Error>;
