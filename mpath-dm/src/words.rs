//! Words of a dm line, with their positions.
//!
//! The kernel splits a table or message line into words at white space
//! (`dm_split_args`, which uses `isspace`: space, tab, newline, vertical
//! tab, form feed, carriage return) and reads numbers with
//! `sscanf("%u%c")`, which takes decimal digits only and nothing after
//! them. `dm_split_args` also lets a backslash escape the next character;
//! device names and the words of these targets never need that, so a
//! backslash is an ordinary character here (docs/DM.md).

/// The kernel's `isspace` on ASCII: Rust's `is_ascii_whitespace` leaves
/// out vertical tab, which the kernel splits at.
pub(crate) const fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// [`is_space`] for a `char` (no non-ASCII character is a space here).
pub(crate) fn is_space_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(is_space)
}

/// One word and where it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Word<'a> {
    pub(crate) text: &'a str,
    /// 0-based word index in the line.
    pub(crate) index: usize,
    /// Byte offset in the line.
    pub(crate) offset: usize,
}

/// A cursor over the words of a line (the kernel's `dm_arg_set`).
#[derive(Clone, Debug)]
pub(crate) struct Words<'a> {
    line: &'a str,
    /// Byte offset of the first unread character.
    at: usize,
    /// Words read so far.
    index: usize,
}

impl<'a> Words<'a> {
    pub(crate) const fn new(line: &'a str) -> Self {
        Words {
            line,
            at: 0,
            index: 0,
        }
    }

    /// Where the line ends, as a position for "missing word" errors.
    pub(crate) fn end(&self) -> Word<'a> {
        Word {
            text: "",
            index: self.index,
            offset: self.line.len(),
        }
    }

    /// The next word, or `None` at the end of the line.
    pub(crate) fn next_word(&mut self) -> Option<Word<'a>> {
        let bytes = self.line.as_bytes();
        let start = self.at.saturating_add(
            bytes
                .get(self.at..)?
                .iter()
                .take_while(|b| is_space(**b))
                .count(),
        );
        let len = bytes
            .get(start..)?
            .iter()
            .take_while(|b| !is_space(**b))
            .count();
        if len == 0 {
            self.at = start;
            return None;
        }
        let end = start.saturating_add(len);
        self.at = end;
        let word = Word {
            // Split points are ASCII bytes, so they are char boundaries.
            text: self.line.get(start..end)?,
            index: self.index,
            offset: start,
        };
        self.index = self.index.saturating_add(1);
        Some(word)
    }

    /// How many words are left (the kernel's `as->argc`).
    pub(crate) fn remaining(&self) -> usize {
        let mut probe = self.clone();
        let mut n = 0usize;
        while probe.next_word().is_some() {
            n = n.saturating_add(1);
        }
        n
    }

    /// The text from the next word up to the end of the `n`th word from
    /// here, and the position of its first word; `None` if fewer are left.
    pub(crate) fn take_span(&mut self, n: usize) -> Option<(&'a str, Word<'a>)> {
        let first = self.clone().next_word().unwrap_or(self.end());
        let mut last_end = first.offset;
        for _ in 0..n {
            let w = self.next_word()?;
            last_end = w.offset.saturating_add(w.text.len());
        }
        Some((self.line.get(first.offset..last_end)?, first))
    }
}

/// A `%u` the way the kernel's `sscanf("%u%c")` takes it: one or more
/// decimal digits and nothing else. The kernel wraps a number past
/// `u32::MAX` silently; here it is refused (`None`), see docs/DM.md.
pub(crate) fn parse_u32(word: &str) -> Option<u32> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.bytes().try_fold(0u32, |acc, b| {
        acc.checked_mul(10)?
            .checked_add(u32::from(b.wrapping_sub(b'0')))
    })
}

/// Like [`parse_u32`] for the 64-bit counters of a status line.
pub(crate) fn parse_u64(word: &str) -> Option<u64> {
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    word.bytes().try_fold(0u64, |acc, b| {
        acc.checked_mul(10)?
            .checked_add(u64::from(b.wrapping_sub(b'0')))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_at_every_kernel_space_and_keep_positions() {
        let mut w = Words::new(" a\tbb\n\x0bccc\x0c\r d ");
        assert_eq!(w.remaining(), 4);
        let got: [(&str, usize, usize); 4] = core::array::from_fn(|_| {
            let x = w.next_word().unwrap();
            (x.text, x.index, x.offset)
        });
        assert_eq!(
            got,
            [("a", 0, 1), ("bb", 1, 3), ("ccc", 2, 7), ("d", 3, 13)]
        );
        assert_eq!(w.next_word(), None);
        assert_eq!(w.remaining(), 0);
        assert_eq!(w.end().index, 4);
        assert_eq!(w.end().offset, 15);
    }

    #[test]
    fn spans_cover_whole_words_or_nothing() {
        let mut w = Words::new("x  p q  r s");
        w.next_word();
        let (text, first) = w.take_span(3).unwrap();
        assert_eq!(text, "p q  r");
        assert_eq!((first.index, first.offset), (1, 3));
        assert_eq!(w.take_span(0).unwrap().0, "");
        assert!(w.take_span(2).is_none());
    }

    #[test]
    fn numbers_are_digits_only_and_fit_in_u32() {
        assert_eq!(parse_u32("0"), Some(0));
        assert_eq!(parse_u32("007"), Some(7));
        assert_eq!(parse_u32("4294967295"), Some(u32::MAX));
        assert_eq!(parse_u32("4294967296"), None);
        for bad in ["", "+1", "-0", "1x", " 1", "0x10", "١"] {
            assert_eq!(parse_u32(bad), None, "{bad:?}");
        }
        assert_eq!(parse_u64("18446744073709551615"), Some(u64::MAX));
        assert_eq!(parse_u64("18446744073709551616"), None);
        assert_eq!(parse_u64("-1"), None);
        assert_eq!(parse_u64(""), None);
    }
}
