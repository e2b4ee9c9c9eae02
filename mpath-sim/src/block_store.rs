//! The blocks of one logical unit or namespace, and the truth about who
//! wrote them.
//!
//! A simulated write carries real bytes, and each block's first
//! [`STAMP_LEN`] bytes are a [`BlockStamp`]: the writing host, that host's
//! write generation (it counts up with every write it issues), and the LBA
//! the block was meant for. The store keeps, for every block, the last stamp
//! it applied and the newest generation each host has landed there. A write
//! that lands after a newer one from the same host (a late write from a path
//! the host already failed over from, the corruption write quiesce exists to
//! prevent) is recorded as a [`StaleWrite`], so the simulator sees the
//! corruption rather than infers it. A stamp whose LBA is not the block it
//! lands on is a misdirected write, recorded the same way.
//!
//! Blocks never written read back as zeros. By default only stamps are
//! kept, not the rest of each block: the simulator's invariants are about
//! which write landed, and keeping whole blocks would cost memory a long
//! sweep does not have. A store made with [`BlockStore::with_contents`]
//! keeps every written block's bytes as well, for hosts that check what
//! they read back byte for byte rather than by stamp (the reservation
//! suite's scenarios write patterns, not stamps); stamps are still read
//! from each block's first bytes there, so its stale-write record means
//! something only for a host that stamps.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Hashes an LBA with one multiply: keys are integers, lookups are on the
/// simulator's hot path, and nothing iterates the map (so its order, which
/// this hasher fixes anyway, never reaches a result).
#[derive(Clone, Copy, Debug, Default)]
struct LbaHasher(u64);

impl Hasher for LbaHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = (v ^ (v >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type LbaMap<V> = HashMap<u64, V, BuildHasherDefault<LbaHasher>>;

/// Stores of at most this many blocks index a vector (no hashing, no cache
/// miss per probe: the simulator reads and writes every block of every
/// I/O); larger ones a map of the blocks written.
const DENSE_MAX: u64 = 1 << 17;

/// The written blocks, by LBA.
#[derive(Clone, Debug)]
enum Written {
    /// Every block (one never written is a default block, which reads as
    /// one).
    Dense(Vec<Block>),
    Sparse(LbaMap<Block>),
}

impl Written {
    fn new(blocks: u64) -> Written {
        match usize::try_from(blocks) {
            Ok(n) if blocks <= DENSE_MAX => Written::Dense(vec![Block::default(); n]),
            _ => Written::Sparse(LbaMap::default()),
        }
    }

    fn get(&self, lba: &u64) -> Option<&Block> {
        match self {
            Written::Dense(v) => usize::try_from(*lba).ok().and_then(|i| v.get(i)),
            Written::Sparse(m) => m.get(lba),
        }
    }

    fn get_mut(&mut self, lba: &u64) -> Option<&mut Block> {
        match self {
            Written::Dense(v) => usize::try_from(*lba).ok().and_then(|i| v.get_mut(i)),
            Written::Sparse(m) => m.get_mut(lba),
        }
    }

    /// The block at `lba`, made if never written. `lba` is in range (the
    /// callers check it): a dense store out of range falls back to a
    /// scratch block rather than panic.
    fn entry(&mut self, lba: u64) -> &mut Block {
        match self {
            Written::Dense(v) => {
                let i = usize::try_from(lba).unwrap_or(usize::MAX);
                if i >= v.len() {
                    v.push(Block::default());
                    let last = v.len() - 1;
                    return &mut v[last];
                }
                &mut v[i]
            }
            Written::Sparse(m) => m.entry(lba).or_default(),
        }
    }
}

/// Bytes of a [`BlockStamp`] at the start of every written block.
pub const STAMP_LEN: usize = 24;

/// A simulated host, as the block store tells hosts apart.
pub type HostId = u32;

/// What a host writes at the start of every block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BlockStamp {
    /// The host's write generation: strictly increasing over the writes it
    /// issues (not per block), so the newest write always has the largest.
    pub generation: u64,
    /// The writing host.
    pub host: HostId,
    /// The LBA the host meant the block for.
    pub lba: u64,
}

impl BlockStamp {
    /// The stamp as bytes: generation (8, big-endian), host (4), 4 zero
    /// bytes, LBA (8).
    pub fn to_bytes(&self) -> [u8; STAMP_LEN] {
        let mut b = [0u8; STAMP_LEN];
        b[0..8].copy_from_slice(&self.generation.to_be_bytes());
        b[8..12].copy_from_slice(&self.host.to_be_bytes());
        b[16..24].copy_from_slice(&self.lba.to_be_bytes());
        b
    }

    /// Reads a stamp from the start of a block; `None` if `block` is
    /// shorter than a stamp or the stamp is all zeros (never written).
    pub fn from_bytes(block: &[u8]) -> Option<BlockStamp> {
        let b = block.get(..STAMP_LEN)?;
        if b.iter().all(|&x| x == 0) {
            return None;
        }
        let u64_at = |at: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[at..at + 8]);
            u64::from_be_bytes(w)
        };
        let mut h = [0u8; 4];
        h.copy_from_slice(&b[8..12]);
        Some(BlockStamp {
            generation: u64_at(0),
            host: u32::from_be_bytes(h),
            lba: u64_at(16),
        })
    }
}

/// A write that landed where it must not: after a newer write from the same
/// host to the same block, or on a block it was not meant for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StaleWrite {
    /// The block.
    pub lba: u64,
    /// What landed.
    pub landed: BlockStamp,
    /// The newest generation this host had already landed on the block
    /// (`None` for a misdirected write).
    pub newer: Option<u64>,
}

/// One block's truth, 64 bytes: what the simulator reads and writes for
/// every block of every I/O stays in one cache line and allocates
/// nothing, because almost every block is only ever written by one host
/// (the first one to write it) and a store keeps no contents by default.
#[derive(Clone, Debug, Default)]
struct Block {
    /// The last stamp applied: what a read returns.
    current: Option<BlockStamp>,
    /// Newest generation landed by the first host that wrote the block.
    first: Option<(HostId, u64)>,
    /// Everything else, rare: other hosts' newest generations, the bytes.
    more: Option<Box<More>>,
}

// One cache line (the reason for the split).
const _: () = assert!(std::mem::size_of::<Block>() <= 64);

/// What few blocks have.
#[derive(Clone, Debug, Default)]
struct More {
    /// Newest generation landed, per host after the first (few hosts: a
    /// short list).
    newest: Vec<(HostId, u64)>,
    /// The block's bytes, in a store that keeps contents.
    bytes: Option<Box<[u8]>>,
}

impl Block {
    /// The newest generation `host` has landed here, to read and raise.
    fn newest_of(&mut self, host: HostId) -> Option<&mut u64> {
        match &mut self.first {
            Some((h, g)) if *h == host => return Some(g),
            _ => {}
        }
        self.more
            .as_mut()?
            .newest
            .iter_mut()
            .find(|(h, _)| *h == host)
            .map(|(_, g)| g)
    }

    /// Record the first write of `host` here.
    fn first_from(&mut self, host: HostId, generation: u64) {
        if self.first.is_none() {
            self.first = Some((host, generation));
        } else {
            self.more
                .get_or_insert_with(Box::default)
                .newest
                .push((host, generation));
        }
    }

    fn bytes(&self) -> Option<&[u8]> {
        self.more.as_ref()?.bytes.as_deref()
    }
}

/// The blocks of one logical unit or namespace.
#[derive(Clone, Debug)]
pub struct BlockStore {
    block_size: usize,
    blocks: u64,
    written: Written,
    stale: Vec<StaleWrite>,
    writes_applied: u64,
    /// Whether whole blocks are kept ([`BlockStore::with_contents`]).
    contents: bool,
}

/// Why a read or write was not done: the caller answers with the
/// protocol's out-of-range error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BlockError {
    /// The range ends past the last block.
    #[error("LBA range {lba}+{count} ends past the last block ({blocks} blocks)")]
    OutOfRange {
        /// First LBA.
        lba: u64,
        /// Blocks asked for.
        count: u64,
        /// Blocks the store has.
        blocks: u64,
    },
    /// The data is not `count` whole blocks.
    #[error("{len} bytes of data for {count} blocks of {block_size}")]
    DataLength {
        /// Bytes given.
        len: usize,
        /// Blocks asked for.
        count: u64,
        /// Block size.
        block_size: usize,
    },
}

impl BlockStore {
    /// A store of `blocks` blocks of `block_size` bytes (at least
    /// [`STAMP_LEN`]; smaller sizes are raised to it).
    pub fn new(block_size: usize, blocks: u64) -> BlockStore {
        BlockStore {
            block_size: block_size.max(STAMP_LEN),
            blocks,
            written: Written::new(blocks),
            stale: Vec::new(),
            writes_applied: 0,
            contents: false,
        }
    }

    /// A store as [`BlockStore::new`] makes it that also keeps every
    /// written block's bytes, which reads then return. The first write of
    /// a block allocates its bytes; later writes reuse them.
    pub fn with_contents(block_size: usize, blocks: u64) -> BlockStore {
        BlockStore {
            contents: true,
            ..BlockStore::new(block_size, blocks)
        }
    }

    /// Whether the store keeps whole blocks.
    pub fn keeps_contents(&self) -> bool {
        self.contents
    }

    /// Bytes per block.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Number of blocks.
    pub fn blocks(&self) -> u64 {
        self.blocks
    }

    fn check(&self, lba: u64, count: u64) -> Result<(), BlockError> {
        match lba.checked_add(count) {
            Some(end) if end <= self.blocks => Ok(()),
            _ => Err(BlockError::OutOfRange {
                lba,
                count,
                blocks: self.blocks,
            }),
        }
    }

    fn check_len(&self, len: usize, count: u64) -> Result<(), BlockError> {
        let want = usize::try_from(count)
            .ok()
            .and_then(|c| c.checked_mul(self.block_size));
        if want == Some(len) {
            Ok(())
        } else {
            Err(BlockError::DataLength {
                len,
                count,
                block_size: self.block_size,
            })
        }
    }

    /// Applies a write of `data` (whole blocks) at `lba`. Each block's
    /// stamp is recorded; a block without one (all zeros) is applied as
    /// unstamped and clears the block. Stale and misdirected blocks are
    /// applied too (the target cannot know better) and recorded.
    pub fn write(&mut self, lba: u64, data: &[u8]) -> Result<(), BlockError> {
        let count = (data.len() / self.block_size) as u64;
        self.check(lba, count)?;
        self.check_len(data.len(), count)?;
        for (i, block) in data.chunks_exact(self.block_size).enumerate() {
            let at = lba + i as u64;
            let stamp = BlockStamp::from_bytes(block);
            self.apply(at, stamp);
            if self.contents {
                match &mut self
                    .written
                    .entry(at)
                    .more
                    .get_or_insert_with(Box::default)
                    .bytes
                {
                    Some(kept) if kept.len() == block.len() => kept.copy_from_slice(block),
                    slot => *slot = Some(block.into()),
                }
            }
        }
        Ok(())
    }

    fn apply(&mut self, lba: u64, stamp: Option<BlockStamp>) {
        self.writes_applied += 1;
        let Some(s) = stamp else {
            if let Some(b) = self.written.get_mut(&lba) {
                b.current = None;
            }
            return;
        };
        if s.lba != lba {
            self.stale.push(StaleWrite {
                lba,
                landed: s,
                newer: None,
            });
        }
        let b = self.written.entry(lba);
        match b.newest_of(s.host) {
            Some(g) if *g > s.generation => self.stale.push(StaleWrite {
                lba,
                landed: s,
                newer: Some(*g),
            }),
            Some(g) => *g = s.generation,
            None => b.first_from(s.host, s.generation),
        }
        b.current = Some(s);
    }

    /// Reads `count` blocks at `lba` into `out` (whole blocks: stamps
    /// first, the rest zeros; the bytes written, in a store that keeps
    /// contents).
    pub fn read(&self, lba: u64, count: u64, out: &mut [u8]) -> Result<(), BlockError> {
        self.check(lba, count)?;
        self.check_len(out.len(), count)?;
        for (i, block) in out.chunks_exact_mut(self.block_size).enumerate() {
            self.read_prefix(lba + i as u64, block);
        }
        Ok(())
    }

    /// The first `out.len()` bytes (at most a block) of block `lba` as a
    /// read returns them; the rest of `out` is zeroed. A block past the
    /// end reads as never written.
    pub fn read_prefix(&self, lba: u64, out: &mut [u8]) {
        let b = self.written.get(&lba);
        let stamp = b.and_then(|b| b.current).map(|s| s.to_bytes());
        let src: &[u8] = match (b.and_then(Block::bytes), &stamp) {
            (Some(bytes), _) => bytes,
            (None, Some(s)) => s,
            (None, None) => &[],
        };
        let k = out.len().min(src.len());
        let (head, tail) = out.split_at_mut(k);
        if let Some(s) = src.get(..k) {
            head.copy_from_slice(s);
        }
        tail.fill(0);
    }

    /// The stamp a read of `lba` returns.
    pub fn stamp(&self, lba: u64) -> Option<BlockStamp> {
        self.written.get(&lba).and_then(|b| b.current)
    }

    /// Every stale or misdirected write landed so far, in order.
    pub fn stale_writes(&self) -> &[StaleWrite] {
        &self.stale
    }

    /// Blocks written since the store was made.
    pub fn writes_applied(&self) -> u64 {
        self.writes_applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(host: HostId, generation: u64, lba: u64) -> Vec<u8> {
        let mut b = vec![0xa5u8; 512];
        b[..STAMP_LEN].copy_from_slice(
            &BlockStamp {
                generation,
                host,
                lba,
            }
            .to_bytes(),
        );
        b
    }

    #[test]
    fn stamp_round_trips_and_zero_is_unwritten() {
        let s = BlockStamp {
            generation: 0x0102_0304_0506_0708,
            host: 9,
            lba: 77,
        };
        assert_eq!(BlockStamp::from_bytes(&s.to_bytes()), Some(s));
        assert_eq!(BlockStamp::from_bytes(&[0u8; 512]), None);
        assert_eq!(BlockStamp::from_bytes(&[1u8; 10]), None);
    }

    #[test]
    fn newer_then_older_from_one_host_is_stale() {
        let mut st = BlockStore::new(512, 16);
        st.write(3, &block(1, 10, 3)).unwrap();
        st.write(3, &block(1, 11, 3)).unwrap();
        assert!(st.stale_writes().is_empty());
        st.write(3, &block(1, 10, 3)).unwrap();
        assert_eq!(
            st.stale_writes(),
            &[StaleWrite {
                lba: 3,
                landed: BlockStamp {
                    generation: 10,
                    host: 1,
                    lba: 3
                },
                newer: Some(11),
            }]
        );
        // The target applied it anyway: a read sees the old data.
        assert_eq!(st.stamp(3).map(|s| s.generation), Some(10));
    }

    #[test]
    fn other_hosts_order_is_not_ours_to_judge() {
        let mut st = BlockStore::new(512, 16);
        st.write(0, &block(1, 50, 0)).unwrap();
        st.write(0, &block(2, 3, 0)).unwrap();
        st.write(0, &block(1, 51, 0)).unwrap();
        assert!(st.stale_writes().is_empty());
        assert_eq!(st.writes_applied(), 3);
    }

    #[test]
    fn every_host_has_its_own_newest_generation() {
        let mut st = BlockStore::new(512, 16);
        for (host, generation) in [(1, 5), (2, 7), (3, 2), (2, 8), (3, 3), (1, 6)] {
            st.write(4, &block(host, generation, 4)).unwrap();
        }
        assert!(st.stale_writes().is_empty());
        // Each host's older write is stale, whoever wrote the block first.
        for (host, generation) in [(1, 5), (2, 7), (3, 1)] {
            st.write(4, &block(host, generation, 4)).unwrap();
        }
        let newer: Vec<_> = st
            .stale_writes()
            .iter()
            .map(|s| (s.landed.host, s.newer))
            .collect();
        assert_eq!(newer, [(1, Some(6)), (2, Some(8)), (3, Some(3))]);
        // An unstamped write clears what a read returns, not the truth.
        st.write(4, &[0u8; 512]).unwrap();
        assert_eq!(st.stamp(4), None);
        st.write(4, &block(2, 8, 4)).unwrap();
        assert_eq!(st.stale_writes().len(), 3);
        st.write(4, &block(2, 1, 4)).unwrap();
        assert_eq!(st.stale_writes().len(), 4);
    }

    #[test]
    fn misdirected_write_is_recorded() {
        let mut st = BlockStore::new(512, 16);
        st.write(5, &block(1, 1, 4)).unwrap();
        assert_eq!(st.stale_writes().len(), 1);
        assert_eq!(st.stale_writes()[0].newer, None);
    }

    #[test]
    fn range_and_length_are_checked() {
        let mut st = BlockStore::new(512, 4);
        assert_eq!(
            st.write(3, &[block(1, 1, 3), block(1, 1, 4)].concat()),
            Err(BlockError::OutOfRange {
                lba: 3,
                count: 2,
                blocks: 4
            })
        );
        assert_eq!(
            st.write(u64::MAX, &block(1, 1, 0)),
            Err(BlockError::OutOfRange {
                lba: u64::MAX,
                count: 1,
                blocks: 4
            })
        );
        assert!(matches!(
            st.write(0, &[0u8; 100]),
            Err(BlockError::DataLength { len: 100, .. })
        ));
        let mut out = vec![0u8; 1024];
        assert!(st.read(3, 2, &mut out).is_err());
        assert!(st.read(0, 1, &mut out).is_err());
        assert_eq!(st.writes_applied(), 0);
    }

    #[test]
    fn read_returns_stamps_and_zeros() {
        let mut st = BlockStore::new(512, 4);
        st.write(1, &block(7, 2, 1)).unwrap();
        let mut out = vec![0xffu8; 1024];
        st.read(0, 2, &mut out).unwrap();
        assert!(out[..512].iter().all(|&b| b == 0));
        assert_eq!(
            BlockStamp::from_bytes(&out[512..]),
            Some(BlockStamp {
                generation: 2,
                host: 7,
                lba: 1
            })
        );
        assert!(out[512 + STAMP_LEN..].iter().all(|&b| b == 0));
    }

    #[test]
    fn a_store_with_contents_reads_back_every_byte() {
        let mut st = BlockStore::with_contents(512, 4);
        assert!(st.keeps_contents() && !BlockStore::new(512, 4).keeps_contents());
        let pattern: Vec<u8> = (0..1024u32).map(|k| (k * 7 % 251) as u8).collect();
        st.write(1, &pattern).unwrap();
        let mut out = vec![0xffu8; 1536];
        st.read(0, 3, &mut out).unwrap();
        assert!(out[..512].iter().all(|&b| b == 0), "never written");
        assert_eq!(&out[512..], &pattern[..]);
        // Written over in place, stamp truth kept beside the bytes.
        let b = block(3, 9, 2);
        st.write(2, &b).unwrap();
        st.read(2, 1, &mut out[..512]).unwrap();
        assert_eq!(&out[..512], &b[..]);
        assert_eq!(st.stamp(2).map(|s| s.generation), Some(9));
        // A read cut short gets the block's first bytes.
        let mut head = [0u8; 40];
        st.read_prefix(1, &mut head);
        assert_eq!(&head[..], &pattern[..40]);
        st.read_prefix(99, &mut head);
        assert_eq!(head, [0u8; 40]);
    }

    #[test]
    fn dense_and_sparse_stores_agree() {
        let mut small = BlockStore::new(512, 64);
        let mut large = BlockStore::new(512, DENSE_MAX + 1);
        assert!(matches!(small.written, Written::Dense(_)));
        assert!(matches!(large.written, Written::Sparse(_)));
        for st in [&mut small, &mut large] {
            st.write(3, &block(1, 10, 3)).unwrap();
            st.write(3, &block(1, 11, 3)).unwrap();
            st.write(3, &block(1, 10, 3)).unwrap();
            st.write(63, &block(2, 1, 62)).unwrap();
            assert!(st.write(64, &block(1, 1, 64)).is_err() || st.blocks() > 64);
        }
        for lba in [0, 3, 62, 63] {
            assert_eq!(small.stamp(lba), large.stamp(lba), "lba {lba}");
        }
        assert_eq!(small.stale_writes(), large.stale_writes());
        assert_eq!(small.stale_writes().len(), 2);
        let (mut a, mut b) = (vec![0xffu8; 1024], vec![0xeeu8; 1024]);
        small.read(2, 2, &mut a).unwrap();
        large.read(2, 2, &mut b).unwrap();
        assert_eq!(a, b);
    }
}
