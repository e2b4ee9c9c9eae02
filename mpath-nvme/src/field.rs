//! Little-endian field access that cannot panic.
//!
//! NVMe data structures are little-endian throughout (NVMe Base 2.0
//! "Conventions"). Readers return [`Error::Truncated`] naming the field when the
//! buffer is short; writers return [`Error::BufferTooSmall`]. Checked views
//! validate lengths once in `new_checked` and then read through these helpers
//! with a zero fallback, so an accessor can never panic even if the check had
//! a bug.

use crate::error::{Error, Result};

/// The `N` bytes of `field` at `offset`.
pub(crate) fn bytes<const N: usize>(
    buf: &[u8],
    offset: usize,
    field: &'static str,
) -> Result<[u8; N]> {
    offset
        .checked_add(N)
        .and_then(|end| buf.get(offset..end))
        .and_then(|s| <[u8; N]>::try_from(s).ok())
        .ok_or(Error::Truncated {
            field,
            offset,
            needed: N,
        })
}

pub(crate) fn u8_at(buf: &[u8], offset: usize, field: &'static str) -> Result<u8> {
    bytes::<1>(buf, offset, field).map(|b| b[0])
}

pub(crate) fn u16_at(buf: &[u8], offset: usize, field: &'static str) -> Result<u16> {
    bytes(buf, offset, field).map(u16::from_le_bytes)
}

pub(crate) fn u32_at(buf: &[u8], offset: usize, field: &'static str) -> Result<u32> {
    bytes(buf, offset, field).map(u32::from_le_bytes)
}

pub(crate) fn u64_at(buf: &[u8], offset: usize, field: &'static str) -> Result<u64> {
    bytes(buf, offset, field).map(u64::from_le_bytes)
}

/// `buf[offset..offset + len]`, or [`Error::BufferTooSmall`].
fn slot(buf: &mut [u8], offset: usize, len: usize) -> Result<&mut [u8]> {
    let available = buf.len();
    let end = offset.saturating_add(len);
    buf.get_mut(offset..end).ok_or(Error::BufferTooSmall {
        needed: end,
        available,
    })
}

/// Copies `src` to `buf[offset..]`.
pub(crate) fn put(buf: &mut [u8], offset: usize, src: &[u8]) -> Result<()> {
    slot(buf, offset, src.len())?.copy_from_slice(src);
    Ok(())
}

/// Zeroes `buf[offset..offset + len]` (reserved fields).
pub(crate) fn zero(buf: &mut [u8], offset: usize, len: usize) -> Result<()> {
    slot(buf, offset, len)?.fill(0);
    Ok(())
}

/// The 0's based dword count (NUMD) of a `len`-byte transfer: commands that
/// return data count it in dwords, so `len` must be a non-zero multiple of 4.
pub(crate) fn numd(len: u32) -> Result<u32> {
    if len == 0 || len % 4 != 0 {
        return Err(Error::Invalid {
            field: "NUMD",
            offset: 0,
            value: u64::from(len),
        });
    }
    Ok((len / 4).saturating_sub(1))
}

/// Bytes a 0's based dword count transfers.
pub(crate) fn numd_len(numd: u32) -> u64 {
    u64::from(numd).saturating_add(1).saturating_mul(4)
}

/// Fails unless `buf` holds at least `needed` bytes.
pub(crate) fn check_out(buf: &[u8], needed: usize) -> Result<()> {
    if buf.len() < needed {
        return Err(Error::BufferTooSmall {
            needed,
            available: buf.len(),
        });
    }
    Ok(())
}

/// Fails unless `buf` holds `len` bytes of the structure starting with `field`.
pub(crate) fn check_in(buf: &[u8], len: usize, field: &'static str) -> Result<()> {
    if buf.len() < len {
        return Err(Error::Truncated {
            field,
            offset: 0,
            needed: len,
        });
    }
    Ok(())
}

/// `value` shifted right by `shift`, masked with `mask`.
pub(crate) fn bits(value: u32, shift: u32, mask: u32) -> u32 {
    value.checked_shr(shift).unwrap_or(0) & mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_little_endian_and_bounded() {
        let buf = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        assert_eq!(u16_at(&buf, 0, "x"), Ok(0x0201));
        assert_eq!(u32_at(&buf, 1, "x"), Ok(0x0504_0302));
        assert_eq!(u64_at(&buf, 1, "x"), Ok(0x0908_0706_0504_0302));
        assert_eq!(
            u64_at(&buf, 2, "F"),
            Err(Error::Truncated {
                field: "F",
                offset: 2,
                needed: 8
            })
        );
        assert!(u8_at(&buf, usize::MAX, "x").is_err());
    }

    #[test]
    fn writes_are_bounded() {
        let mut buf = [0u8; 4];
        assert_eq!(put(&mut buf, 1, &[9, 9]), Ok(()));
        assert_eq!(buf, [0, 9, 9, 0]);
        assert_eq!(
            put(&mut buf, 3, &[1, 2]),
            Err(Error::BufferTooSmall {
                needed: 5,
                available: 4
            })
        );
        assert!(zero(&mut buf, usize::MAX, 2).is_err());
        assert_eq!(bits(0xABCD_1234, 16, 0xFF), 0xCD);
    }
}
