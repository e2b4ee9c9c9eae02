//! dm's path selectors and their per-path table arguments.

use crate::error::{ErrorKind, ParseError};
use crate::words::{parse_u32, Word};
use mpath_core::Policy;

/// The largest relative throughput service-time takes
/// (`ST_MAX_RELATIVE_THROUGHPUT`).
pub const MAX_RELATIVE_THROUGHPUT: u8 = 100;

/// A priority group's path selector.
///
/// `historical-service-time` and `io-affinity` are not here: the kernel
/// has them, but their table arguments carry state (historical samples,
/// CPU masks) the core keeps its own way; a table naming them is refused
/// as [`ErrorKind::UnknownSelector`] (docs/DM.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Selector {
    /// `round-robin` (dm-ps-round-robin.c).
    RoundRobin,
    /// `queue-length` (dm-ps-queue-length.c): fewest I/Os in flight.
    QueueLength,
    /// `service-time` (dm-ps-service-time.c): least in-flight bytes over
    /// relative throughput.
    ServiceTime,
}

impl Selector {
    /// Every selector, for tests and generators.
    pub const ALL: [Selector; 3] = [
        Selector::RoundRobin,
        Selector::QueueLength,
        Selector::ServiceTime,
    ];

    /// The name in a table line. The kernel looks selectors up with
    /// `strcmp`, so the name is case-sensitive (unlike features and
    /// messages).
    pub const fn name(self) -> &'static str {
        match self {
            Selector::RoundRobin => "round-robin",
            Selector::QueueLength => "queue-length",
            Selector::ServiceTime => "service-time",
        }
    }

    /// The selector a table names, if this crate knows it.
    pub fn from_name(name: &str) -> Option<Selector> {
        Selector::ALL.into_iter().find(|s| s.name() == name)
    }

    /// Per-path words in the TABLE status (`table_args`).
    pub const fn table_args(self) -> u8 {
        match self {
            Selector::RoundRobin | Selector::QueueLength => 1,
            Selector::ServiceTime => 2,
        }
    }

    /// Per-path words in the INFO status (`info_args`).
    pub const fn info_args(self) -> u8 {
        match self {
            Selector::RoundRobin => 0,
            Selector::QueueLength => 1,
            Selector::ServiceTime => 2,
        }
    }

    /// The core's policy for this selector.
    pub const fn policy(self) -> Policy {
        match self {
            Selector::RoundRobin => Policy::RoundRobin,
            Selector::QueueLength => Policy::QueueDepth,
            Selector::ServiceTime => Policy::ServiceTime,
        }
    }
}

impl core::fmt::Display for Selector {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.name())
    }
}

/// One path's selector arguments as the kernel keeps them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PathArgs {
    /// I/Os before switching paths. The kernel takes any number but keeps
    /// at most 1 ("repeat_count > 1 is deprecated, using 1 instead"); 0
    /// stays 0. So this is 0 or 1 after parsing.
    pub repeat_count: u32,
    /// service-time's relative throughput, `0..=100` (1 when not given);
    /// the other selectors neither take nor print it.
    pub relative_throughput: u8,
}

impl PathArgs {
    /// What a path gets without arguments (`RR_MIN_IO`, `QL_MIN_IO`,
    /// `ST_MIN_IO` are 1; service-time's throughput defaults to 1).
    pub const DEFAULT: PathArgs = PathArgs {
        repeat_count: 1,
        relative_throughput: 1,
    };

    /// The arguments `words` give a path of `selector`, checked as the
    /// selector's `add_path` checks them.
    pub(crate) fn parse<'a>(
        selector: Selector,
        words: &[Word<'a>],
    ) -> Result<PathArgs, ParseError<'a>> {
        let max = usize::from(selector.table_args());
        if let Some(extra) = words.get(max) {
            return Err(ParseError::at(ErrorKind::SelectorPathArgs, *extra));
        }
        let mut args = PathArgs::DEFAULT;
        if let Some(w) = words.first() {
            let n = parse_u32(w.text).ok_or(ParseError::at(ErrorKind::RepeatCount, *w))?;
            args.repeat_count = n.min(1);
        }
        if let Some(w) = words.get(1) {
            args.relative_throughput = parse_u32(w.text)
                .and_then(|n| u8::try_from(n).ok())
                .filter(|n| *n <= MAX_RELATIVE_THROUGHPUT)
                .ok_or(ParseError::at(ErrorKind::RelativeThroughput, *w))?;
        }
        Ok(args)
    }
}

impl Default for PathArgs {
    fn default() -> Self {
        PathArgs::DEFAULT
    }
}
