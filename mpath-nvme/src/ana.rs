//! The Asymmetric Namespace Access log page (Base 2.0 "Asymmetric Namespace
//! Access log page", Log Page Identifier 0Ch) and ANA states ("Asymmetric
//! Namespace Access
//! Reporting").
//!
//! Layout (little-endian):
//!
//! ```text
//! header      0..8   change count (u64)
//!             8..10  number of ANA group descriptors (u16)
//!            10..16  reserved
//! descriptor  0..4   ANA group ID (u32)
//!             4..8   number of NSIDs (u32)
//!             8..16  change count (u64)
//!            16      ANA state (bits 3:0; 7:4 reserved)
//!            17..32  reserved
//!            32..    NSID list, 4 bytes each (absent when RGO was set)
//! ```
//!
//! [`AnaLog::new_checked`] validates the whole page once, with the checks of
//! Linux `nvme_parse_ana_log()` (descriptor and NSID list within the buffer,
//! group ID non-zero and at most ANAGRPMAX, known state); afterwards iterating
//! groups and NSIDs allocates nothing and cannot panic.

use mpath_core::access::AccessState;

use crate::error::{Error, Result};
use crate::field::{self, put, u16_at, u32_at, u64_at, u8_at};

/// Length of the log page header.
pub const HEADER_LEN: usize = 16;
/// Length of a group descriptor without its NSID list.
pub const DESCRIPTOR_LEN: usize = 32;
/// Length of one NSID list entry.
pub const NSID_LEN: usize = 4;

/// An ANA state (Base 2.0 "ANA states" and the ANA state field of
/// the group descriptor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AnaState {
    /// 01h: ANA Optimized.
    Optimized,
    /// 02h: ANA Non-Optimized.
    NonOptimized,
    /// 03h: ANA Inaccessible.
    Inaccessible,
    /// 04h: ANA Persistent Loss.
    PersistentLoss,
    /// 0Fh: ANA Change, a transition that must end within ANATT.
    Change,
}

impl AnaState {
    /// Every state, in code order.
    pub const ALL: [AnaState; 5] = [
        AnaState::Optimized,
        AnaState::NonOptimized,
        AnaState::Inaccessible,
        AnaState::PersistentLoss,
        AnaState::Change,
    ];

    /// The state a descriptor's state byte holds. Bits 7:4 are reserved and
    /// ignored; unknown codes (00h, 05h-0Eh) are `None`.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte & 0x0F {
            0x01 => Some(AnaState::Optimized),
            0x02 => Some(AnaState::NonOptimized),
            0x03 => Some(AnaState::Inaccessible),
            0x04 => Some(AnaState::PersistentLoss),
            0x0F => Some(AnaState::Change),
            _ => None,
        }
    }

    /// The state's code.
    pub const fn code(self) -> u8 {
        match self {
            AnaState::Optimized => 0x01,
            AnaState::NonOptimized => 0x02,
            AnaState::Inaccessible => 0x03,
            AnaState::PersistentLoss => 0x04,
            AnaState::Change => 0x0F,
        }
    }

    /// The core's access state.
    pub const fn access_state(self) -> AccessState {
        match self {
            AnaState::Optimized => AccessState::Optimized,
            AnaState::NonOptimized => AccessState::NonOptimized,
            AnaState::Inaccessible => AccessState::Inaccessible,
            AnaState::PersistentLoss => AccessState::PersistentLoss,
            AnaState::Change => AccessState::Change,
        }
    }
}

impl From<AnaState> for AccessState {
    fn from(state: AnaState) -> Self {
        state.access_state()
    }
}

/// How to parse an ANA log page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AnaLogOptions {
    /// ANAGRPMAX from Identify Controller: the largest valid group ID.
    pub anagrpmax: u32,
    /// The page was read with Return Groups Only (LSP bit 0): descriptors
    /// carry a number of NSIDs but no NSID list.
    pub rgo: bool,
}

/// The NSIDs of one group descriptor.
#[derive(Clone, Copy, Debug)]
pub enum NsidList<'a> {
    /// Little-endian NSIDs as they are on the wire (from a parsed page).
    Wire(&'a [u8]),
    /// NSIDs held by the host (to emit).
    Slice(&'a [u32]),
    /// Only the count: the page was read with Return Groups Only.
    CountOnly(u32),
}

impl<'a> NsidList<'a> {
    /// The number of NSIDs (the descriptor's NNSIDS field). `None` if a host
    /// slice is longer than a u32 can count.
    pub fn count(&self) -> Option<u32> {
        match self {
            NsidList::Wire(b) => u32::try_from(b.len() / NSID_LEN).ok(),
            NsidList::Slice(s) => u32::try_from(s.len()).ok(),
            NsidList::CountOnly(n) => Some(*n),
        }
    }

    /// Bytes the list takes on the wire.
    pub fn wire_len(&self) -> usize {
        match self {
            NsidList::Wire(b) => b.len().saturating_sub(b.len() % NSID_LEN),
            NsidList::Slice(s) => s.len().saturating_mul(NSID_LEN),
            NsidList::CountOnly(_) => 0,
        }
    }

    /// The NSIDs (none for [`NsidList::CountOnly`]).
    pub fn iter(&self) -> Nsids<'a> {
        match *self {
            NsidList::Wire(b) => Nsids::Wire(b.chunks_exact(NSID_LEN)),
            NsidList::Slice(s) => Nsids::Slice(s.iter()),
            NsidList::CountOnly(_) => Nsids::Slice([].iter()),
        }
    }

    /// Whether `nsid` is in the list.
    pub fn contains(&self, nsid: u32) -> bool {
        self.iter().any(|n| n == nsid)
    }
}

impl PartialEq for NsidList<'_> {
    /// Lists compare by content whatever their representation; a count-only
    /// list equals only a count-only list with the same count.
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (NsidList::CountOnly(a), NsidList::CountOnly(b)) => a == b,
            (NsidList::CountOnly(_), _) | (_, NsidList::CountOnly(_)) => false,
            _ => self.count() == other.count() && self.iter().eq(other.iter()),
        }
    }
}

impl Eq for NsidList<'_> {}

/// Iterator over the NSIDs of a group.
#[derive(Clone, Debug)]
pub enum Nsids<'a> {
    /// Over wire bytes.
    Wire(core::slice::ChunksExact<'a, u8>),
    /// Over a host slice.
    Slice(core::slice::Iter<'a, u32>),
}

impl Iterator for Nsids<'_> {
    type Item = u32;
    fn next(&mut self) -> Option<u32> {
        match self {
            Nsids::Wire(chunks) => chunks
                .next()
                .map(|c| <[u8; 4]>::try_from(c).map_or(0, u32::from_le_bytes)),
            Nsids::Slice(iter) => iter.next().copied(),
        }
    }
}

/// One ANA group descriptor, parsed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnaGroupRepr<'a> {
    /// ANA Group ID (ANAGRPID).
    pub grpid: u32,
    /// Change count of this descriptor.
    pub change_count: u64,
    /// ANA state of the group through the controller that returned the page.
    pub state: AnaState,
    /// The namespaces in the group.
    pub nsids: NsidList<'a>,
}

impl<'a> AnaGroupRepr<'a> {
    /// Parses and validates the descriptor at the start of `buf`; returns it
    /// with its length. `base` is the descriptor's offset in the page, for
    /// error messages.
    fn parse_at(buf: &'a [u8], base: usize, opts: AnaLogOptions) -> Result<(Self, usize)> {
        let at = |o: usize| base.saturating_add(o);
        let located = |e: Error| match e {
            Error::Truncated {
                field,
                offset,
                needed,
            } => Error::Truncated {
                field,
                offset: at(offset),
                needed,
            },
            other => other,
        };
        if buf.len() < DESCRIPTOR_LEN {
            return Err(Error::Truncated {
                field: "ANA group descriptor",
                offset: base,
                needed: DESCRIPTOR_LEN,
            });
        }
        let grpid = u32_at(buf, 0, "ANAGRPID").map_err(located)?;
        let nnsids = u32_at(buf, 4, "NNSIDS").map_err(located)?;
        let change_count = u64_at(buf, 8, "CHGCNT").map_err(located)?;
        let state_byte = u8_at(buf, 16, "ANA state").map_err(located)?;
        // nvme_parse_ana_log(): WARN and reject a zero group ID or one above
        // ANAGRPMAX; such a page cannot be mapped onto groups.
        if grpid == 0 || grpid > opts.anagrpmax {
            return Err(Error::Invalid {
                field: "ANAGRPID",
                offset: base,
                value: u64::from(grpid),
            });
        }
        let state = AnaState::from_byte(state_byte).ok_or(Error::Invalid {
            field: "ANA state",
            offset: at(16),
            value: u64::from(state_byte),
        })?;
        if opts.rgo {
            let nsids = NsidList::CountOnly(nnsids);
            return Ok((
                AnaGroupRepr {
                    grpid,
                    change_count,
                    state,
                    nsids,
                },
                DESCRIPTOR_LEN,
            ));
        }
        let truncated = Error::Truncated {
            field: "NSID list",
            offset: at(DESCRIPTOR_LEN),
            needed: usize::try_from(nnsids)
                .unwrap_or(usize::MAX)
                .saturating_mul(NSID_LEN),
        };
        let end = usize::try_from(nnsids)
            .ok()
            .and_then(|n| n.checked_mul(NSID_LEN))
            .and_then(|l| l.checked_add(DESCRIPTOR_LEN))
            .ok_or(truncated)?;
        let list = buf.get(DESCRIPTOR_LEN..end).ok_or(truncated)?;
        let repr = AnaGroupRepr {
            grpid,
            change_count,
            state,
            nsids: NsidList::Wire(list),
        };
        Ok((repr, end))
    }

    /// Parses one descriptor (with its NSID list unless `opts.rgo`) from the
    /// start of `buf`.
    pub fn parse(buf: &'a [u8], opts: AnaLogOptions) -> Result<Self> {
        Self::parse_at(buf, 0, opts).map(|(repr, _)| repr)
    }

    /// Bytes the descriptor takes.
    pub fn buffer_len(&self) -> usize {
        DESCRIPTOR_LEN.saturating_add(self.nsids.wire_len())
    }

    /// Writes the descriptor at the start of `buf`, reserved bytes zeroed.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field::check_out(buf, self.buffer_len())?;
        let nnsids = self.nsids.count().ok_or(Error::Overflow {
            field: "NNSIDS",
            value: u64::try_from(self.nsids.wire_len() / NSID_LEN).unwrap_or(u64::MAX),
        })?;
        put(buf, 0, &self.grpid.to_le_bytes())?;
        put(buf, 4, &nnsids.to_le_bytes())?;
        put(buf, 8, &self.change_count.to_le_bytes())?;
        put(buf, 16, &[self.state.code()])?;
        field::zero(buf, 17, DESCRIPTOR_LEN.saturating_sub(17))?;
        let mut offset = DESCRIPTOR_LEN;
        for nsid in self.nsids.iter() {
            put(buf, offset, &nsid.to_le_bytes())?;
            offset = offset.saturating_add(NSID_LEN);
        }
        Ok(())
    }
}

/// A whole ANA log page to emit (a simulated controller's side).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AnaLogRepr<'a> {
    /// Change count of the page.
    pub change_count: u64,
    /// The group descriptors.
    pub groups: &'a [AnaGroupRepr<'a>],
}

impl AnaLogRepr<'_> {
    /// Bytes the page takes.
    pub fn buffer_len(&self) -> usize {
        self.groups
            .iter()
            .fold(HEADER_LEN, |len, g| len.saturating_add(g.buffer_len()))
    }

    /// Writes the page at the start of `buf`.
    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field::check_out(buf, self.buffer_len())?;
        let ngrps = u16::try_from(self.groups.len()).map_err(|_| Error::Overflow {
            field: "NGRPS",
            value: u64::try_from(self.groups.len()).unwrap_or(u64::MAX),
        })?;
        put(buf, 0, &self.change_count.to_le_bytes())?;
        put(buf, 8, &ngrps.to_le_bytes())?;
        field::zero(buf, 10, HEADER_LEN.saturating_sub(10))?;
        let mut offset = HEADER_LEN;
        for group in self.groups {
            let rest = buf.get_mut(offset..).ok_or(Error::BufferTooSmall {
                needed: offset,
                available: 0,
            })?;
            group.emit(rest)?;
            offset = offset.saturating_add(group.buffer_len());
        }
        Ok(())
    }
}

/// A validated ANA log page.
#[derive(Clone, Copy, Debug)]
pub struct AnaLog<T: AsRef<[u8]>> {
    buf: T,
    opts: AnaLogOptions,
    /// Bytes used by header and descriptors.
    len: usize,
}

impl<T: AsRef<[u8]>> AnaLog<T> {
    /// Validates the whole page (see the module documentation). Bytes after
    /// the last descriptor are ignored: hosts read a buffer sized for the
    /// maximum page.
    pub fn new_checked(buf: T, opts: AnaLogOptions) -> Result<Self> {
        let bytes = buf.as_ref();
        field::check_in(bytes, HEADER_LEN, "ANA log header")?;
        let ngrps = u16_at(bytes, 8, "NGRPS")?;
        let mut offset = HEADER_LEN;
        for _ in 0..ngrps {
            let rest = bytes.get(offset..).unwrap_or(&[]);
            let (_, len) = AnaGroupRepr::parse_at(rest, offset, opts)?;
            offset = offset.saturating_add(len);
        }
        Ok(AnaLog {
            buf,
            opts,
            len: offset,
        })
    }

    /// Change count of the page: it changes whenever any descriptor does.
    pub fn change_count(&self) -> u64 {
        u64_at(self.buf.as_ref(), 0, "CHGCNT").unwrap_or(0)
    }

    /// Number of ANA group descriptors.
    pub fn group_count(&self) -> u16 {
        u16_at(self.buf.as_ref(), 8, "NGRPS").unwrap_or(0)
    }

    /// Bytes of the buffer the page uses.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the page has no descriptors.
    pub fn is_empty(&self) -> bool {
        self.group_count() == 0
    }

    /// The options the page was validated with.
    pub fn options(&self) -> AnaLogOptions {
        self.opts
    }

    /// The group descriptors, in page order.
    pub fn groups(&self) -> AnaGroups<'_> {
        AnaGroups {
            buf: self.buf.as_ref().get(..self.len).unwrap_or(&[]),
            offset: HEADER_LEN,
            remaining: self.group_count(),
            opts: self.opts,
        }
    }

    /// (ANAGRPID, access state) of every group: what an adapter hands the
    /// core after reading the page.
    pub fn group_states(&self) -> impl Iterator<Item = (u32, AccessState)> + '_ {
        self.groups().map(|g| (g.grpid, g.state.access_state()))
    }

    /// The group and state of namespace `nsid`, if listed (never with RGO).
    pub fn find_nsid(&self, nsid: u32) -> Option<(u32, AnaState)> {
        self.groups()
            .find(|g| g.nsids.contains(nsid))
            .map(|g| (g.grpid, g.state))
    }

    /// The underlying buffer.
    pub fn into_inner(self) -> T {
        self.buf
    }
}

/// Iterator over the descriptors of a validated [`AnaLog`].
#[derive(Clone, Debug)]
pub struct AnaGroups<'a> {
    buf: &'a [u8],
    offset: usize,
    remaining: u16,
    opts: AnaLogOptions,
}

impl<'a> Iterator for AnaGroups<'a> {
    type Item = AnaGroupRepr<'a>;
    fn next(&mut self) -> Option<Self::Item> {
        self.remaining = self.remaining.checked_sub(1)?;
        let rest = self.buf.get(self.offset..)?;
        // Validated in new_checked; a failure here would end the iteration
        // rather than panic.
        let (group, len) = AnaGroupRepr::parse_at(rest, self.offset, self.opts).ok()?;
        self.offset = self.offset.saturating_add(len);
        Some(group)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (0, Some(usize::from(self.remaining)))
    }
}

/// The buffer size Linux allocates for the ANA log (`nvme_mpath_init_identify()`):
/// header, NANAGRPID descriptors and one NSID entry per namespace the
/// controller may attach (MNAN, or NN when MNAN is 0). `None` on overflow.
pub fn max_log_len(nanagrpid: u32, max_namespaces: u32, rgo: bool) -> Option<usize> {
    let groups = usize::try_from(nanagrpid)
        .ok()?
        .checked_mul(DESCRIPTOR_LEN)?;
    let nsids = if rgo {
        0
    } else {
        usize::try_from(max_namespaces)
            .ok()?
            .checked_mul(NSID_LEN)?
    };
    HEADER_LEN.checked_add(groups)?.checked_add(nsids)
}

#[cfg(test)]
#[path = "ana_tests.rs"]
mod tests;
