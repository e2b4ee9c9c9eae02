//! Byte access helpers shared by the codecs, and the allocation-free [`List`].
//!
//! Two families: infallible getters (`get_*`) for checked views, which return
//! zero for a byte outside the buffer instead of panicking (a view's
//! `new_checked` has already proven the byte is there, so the zero is never
//! seen), and fallible readers/writers that name the field and offset.

use crate::error::WireError;

/// Byte `at`, or 0 if the buffer is shorter (only after a length check).
pub(crate) fn get_u8(b: &[u8], at: usize) -> u8 {
    b.get(at).copied().unwrap_or(0)
}

/// `N` bytes from `at`, or zeros if the buffer is shorter.
pub(crate) fn get_arr<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = at.checked_add(N).and_then(|end| b.get(at..end)) {
        out.copy_from_slice(src);
    }
    out
}

pub(crate) fn get_be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(get_arr(b, at))
}

pub(crate) fn get_be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(get_arr(b, at))
}

pub(crate) fn get_be64(b: &[u8], at: usize) -> u64 {
    u64::from_be_bytes(get_arr(b, at))
}

/// `b[start..end]`, or an empty slice if out of range.
pub(crate) fn get_range(b: &[u8], start: usize, end: usize) -> &[u8] {
    b.get(start..end).unwrap_or(&[])
}

/// `b[start..]`, or an empty slice if out of range.
pub(crate) fn get_from(b: &[u8], start: usize) -> &[u8] {
    b.get(start..).unwrap_or(&[])
}

/// Fail with `Truncated` unless `b` holds at least `len` bytes.
pub(crate) fn need(b: &[u8], len: usize, field: &'static str, at: usize) -> Result<(), WireError> {
    if b.len() < len {
        Err(WireError::truncated(field, at))
    } else {
        Ok(())
    }
}

/// `start + len`, or an error naming `field` if that overflows `usize`.
pub(crate) fn end_of(start: usize, len: usize, field: &'static str) -> Result<usize, WireError> {
    start
        .checked_add(len)
        .ok_or(WireError::out_of_range(field, start))
}

/// Copy `src` into `buf` at `at`, or `BufferTooSmall` naming `field`.
pub(crate) fn put(
    buf: &mut [u8],
    at: usize,
    src: &[u8],
    field: &'static str,
) -> Result<(), WireError> {
    let end = end_of(at, src.len(), field)?;
    match buf.get_mut(at..end) {
        Some(dst) => {
            dst.copy_from_slice(src);
            Ok(())
        }
        None => Err(WireError::too_small(field, at)),
    }
}

/// Run `f` on `buf[at..]` (an encoder for a part that starts at `at`) and
/// move the offsets of its errors by `at`.
pub(crate) fn write_at<R>(
    buf: &mut [u8],
    at: usize,
    field: &'static str,
    f: impl FnOnce(&mut [u8]) -> Result<R, WireError>,
) -> Result<R, WireError> {
    let dst = buf.get_mut(at..).ok_or(WireError::too_small(field, at))?;
    f(dst).map_err(|e| e.at(at))
}

/// Zero `buf[at..at + len]`.
pub(crate) fn zero(
    buf: &mut [u8],
    at: usize,
    len: usize,
    field: &'static str,
) -> Result<(), WireError> {
    let end = end_of(at, len, field)?;
    match buf.get_mut(at..end) {
        Some(dst) => {
            dst.fill(0);
            Ok(())
        }
        None => Err(WireError::too_small(field, at)),
    }
}

/// Fail with `BufferTooSmall` unless `buf` holds `len` bytes.
pub(crate) fn room(buf: &[u8], len: usize, field: &'static str) -> Result<(), WireError> {
    if buf.len() < len {
        Err(WireError::too_small(field, 0))
    } else {
        Ok(())
    }
}

/// A value that fits a `u8` length field, or `OutOfRange`.
pub(crate) fn len_u8(len: usize, field: &'static str, at: usize) -> Result<u8, WireError> {
    u8::try_from(len).map_err(|_| WireError::out_of_range(field, at))
}

/// A value that fits a `u16` length field, or `OutOfRange`.
pub(crate) fn len_u16(len: usize, field: &'static str, at: usize) -> Result<u16, WireError> {
    u16::try_from(len).map_err(|_| WireError::out_of_range(field, at))
}

/// A value that fits a `u32` length field, or `OutOfRange`.
pub(crate) fn len_u32(len: usize, field: &'static str, at: usize) -> Result<u32, WireError> {
    u32::try_from(len).map_err(|_| WireError::out_of_range(field, at))
}

/// A `u32` length field as `usize` (lossless on 32- and 64-bit targets;
/// saturates elsewhere so a later length check fails cleanly).
pub(crate) fn usize_from(v: u32) -> usize {
    usize::try_from(v).unwrap_or(usize::MAX)
}

/// One element of a list that appears back to back on the wire (keys, port
/// entries, descriptors).
pub trait WireItem<'a>: Sized + Copy {
    /// Decode the item at the front of `buf` and return it with its encoded
    /// length. Offsets in errors are relative to `buf`.
    fn decode(buf: &'a [u8]) -> Result<(Self, usize), WireError>;
    /// Bytes `encode` writes.
    fn encoded_len(&self) -> usize;
    /// Encode into the front of `buf` (at least `encoded_len()` bytes).
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError>;
}

/// A list that is either still on the wire (after a successful `parse`, which
/// validated every element) or a caller's slice of values to emit. Either way
/// it iterates without allocating, and two lists compare equal when they yield
/// equal items.
#[derive(Clone, Copy, Debug)]
pub enum List<'a, T> {
    /// Validated wire bytes holding whole items back to back.
    Wire(&'a [u8]),
    /// Values to emit.
    Items(&'a [T]),
}

impl<'a, T: WireItem<'a>> List<'a, T> {
    /// An empty list.
    pub const EMPTY: Self = List::Items(&[]);

    /// Validate `buf` as a sequence of items that fills it exactly; `base` is
    /// `buf`'s offset in the enclosing buffer, for error offsets.
    pub fn parse(buf: &'a [u8], base: usize) -> Result<Self, WireError> {
        let mut at = 0usize;
        while let Some(rest) = buf.get(at..).filter(|r| !r.is_empty()) {
            let (_, len) = T::decode(rest).map_err(|e| e.at(base.saturating_add(at)))?;
            // decode never reports zero length; guard anyway so a bad item
            // type cannot make this loop forever.
            at = at.saturating_add(len.max(1));
        }
        Ok(List::Wire(buf))
    }

    /// The items in order.
    pub fn iter(&self) -> ListIter<'a, T> {
        match *self {
            List::Wire(b) => ListIter::Wire(b),
            List::Items(items) => ListIter::Items(items.iter()),
        }
    }

    /// The number of items.
    pub fn len(&self) -> usize {
        match self {
            List::Wire(_) => self.iter().count(),
            List::Items(items) => items.len(),
        }
    }

    /// Whether the list has no items.
    pub fn is_empty(&self) -> bool {
        self.iter().next().is_none()
    }

    /// The bytes `emit` writes.
    pub fn buffer_len(&self) -> usize {
        self.iter()
            .fold(0usize, |acc, item| acc.saturating_add(item.encoded_len()))
    }

    /// Write the items back to back at the front of `buf`; returns the length.
    pub fn emit(&self, buf: &mut [u8]) -> Result<usize, WireError> {
        let mut at = 0usize;
        for item in self.iter() {
            write_at(buf, at, "list", |dst| item.encode(dst))?;
            at = at.saturating_add(item.encoded_len());
        }
        Ok(at)
    }
}

impl<'a, T: WireItem<'a> + PartialEq> PartialEq for List<'a, T> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl<'a, T: WireItem<'a> + Eq> Eq for List<'a, T> {}

/// Iterator over a [`List`].
#[derive(Clone, Debug)]
pub enum ListIter<'a, T> {
    /// Decoding from wire bytes.
    Wire(&'a [u8]),
    /// Walking a slice of values.
    Items(core::slice::Iter<'a, T>),
}

impl<'a, T: WireItem<'a>> Iterator for ListIter<'a, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        match self {
            ListIter::Wire(b) => {
                let (item, len) = T::decode(b).ok()?;
                *b = b.get(len..).unwrap_or(&[]);
                if len == 0 {
                    *b = &[];
                }
                Some(item)
            }
            ListIter::Items(it) => it.next().copied(),
        }
    }
}

/// A big-endian 64-bit reservation key, as a list item (PR IN READ KEYS).
impl WireItem<'_> for u64 {
    fn decode(buf: &[u8]) -> Result<(Self, usize), WireError> {
        need(buf, 8, "RESERVATION KEY", 0)?;
        Ok((get_be64(buf, 0), 8))
    }
    fn encoded_len(&self) -> usize {
        8
    }
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError> {
        put(buf, 0, &self.to_be_bytes(), "RESERVATION KEY")
    }
}

/// A page code, as a list item (VPD page 00h).
impl WireItem<'_> for u8 {
    fn decode(buf: &[u8]) -> Result<(Self, usize), WireError> {
        match buf.first() {
            Some(&b) => Ok((b, 1)),
            None => Err(WireError::truncated("PAGE CODE", 0)),
        }
    }
    fn encoded_len(&self) -> usize {
        1
    }
    fn encode(&self, buf: &mut [u8]) -> Result<(), WireError> {
        put(buf, 0, &[*self], "PAGE CODE")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn getters_never_panic_out_of_range() {
        let b = [1u8, 2, 3];
        assert_eq!(get_u8(&b, 3), 0);
        assert_eq!(get_be16(&b, 1), 0x0203);
        assert_eq!(get_be16(&b, 2), 0);
        assert_eq!(get_be32(&b, usize::MAX), 0);
        assert_eq!(get_range(&b, 2, 1), &[] as &[u8]);
        assert_eq!(get_from(&b, 4), &[] as &[u8]);
    }

    #[test]
    fn key_list_round_trips_and_rejects_partial_items() {
        let wire = [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2];
        let l = List::<u64>::parse(&wire, 8).unwrap();
        assert_eq!(l.iter().collect::<alloc::vec::Vec<_>>(), [1, 2]);
        assert_eq!(l, List::Items(&[1, 2]));
        let mut out = [0u8; 16];
        assert_eq!(l.emit(&mut out).unwrap(), 16);
        assert_eq!(out, wire);
        let e = List::<u64>::parse(&wire[..12], 8).unwrap_err();
        assert_eq!(e.offset, 16);
        assert_eq!(
            List::<u64>::Items(&[1, 2]).emit(&mut out[..9]).unwrap_err(),
            WireError::too_small("RESERVATION KEY", 8)
        );
    }
}
