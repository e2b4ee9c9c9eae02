//! Errors that say which word and where, in the kernel's words.

use crate::words::Word;

/// What was wrong. The texts are the kernel's `ti->error` and `DMWARN`
/// strings (drivers/md/dm-mpath.c and the path selectors), so a dm user
/// reads the message they know.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    // ----- table lines (multipath_ctr and what it calls) -----
    /// `<#features>` is not 0-8 or more than the words left.
    #[error("invalid number of feature args")]
    FeatureCount,
    /// `pg_init_retries` is not 1-50.
    #[error("pg_init_retries must be between 1 and 50")]
    PgInitRetries,
    /// `pg_init_delay_msecs` is not 0-60000.
    #[error("pg_init_delay_msecs must be between 0 and 60000")]
    PgInitDelay,
    /// `queue_mode` is not `bio`, `rq` or `mq`.
    #[error("Unknown 'queue_mode' requested")]
    QueueMode,
    /// A feature the kernel does not know, or one missing its value.
    #[error("Unrecognised multipath feature request")]
    UnknownFeature,
    /// `<#hw_handler args>` is not 0-1024 or more than the words left.
    #[error("invalid number of hardware handler args")]
    HwHandlerCount,
    /// `<#priority groups>` is not 0-1024.
    #[error("invalid number of priority groups")]
    GroupCount,
    /// `<initial group>` is not 0-1024.
    #[error("invalid initial priority group number")]
    InitialGroupNumber,
    /// `<initial group>` is 0 with groups, or not 0 without.
    #[error("invalid initial priority group")]
    InitialGroup,
    /// Fewer than two words where a group starts.
    #[error("not enough priority group arguments")]
    GroupArgs,
    /// A selector other than `round-robin`, `queue-length`, `service-time`.
    #[error("unknown path selector type")]
    UnknownSelector,
    /// `<#selector args>` is not 0-1024 or more than the words left.
    #[error("invalid number of path selector args")]
    SelectorArgCount,
    /// `<#paths>` is not 1-1024.
    #[error("invalid number of paths")]
    PathCount,
    /// `<#per-path args>` is not 0-1024.
    #[error("invalid number of selector args")]
    PerPathArgCount,
    /// Fewer words left than a path and its arguments.
    #[error("not enough path parameters")]
    PathArgs,
    /// More per-path arguments than the selector takes (1, or 2 for
    /// service-time).
    #[error("incorrect number of arguments")]
    SelectorPathArgs,
    /// A `repeat_count` that is not a number.
    #[error("invalid repeat count")]
    RepeatCount,
    /// A `relative_throughput` that is not 0-100.
    #[error("invalid relative_throughput value")]
    RelativeThroughput,
    /// More or fewer groups than `<#priority groups>` said.
    #[error("priority group count mismatch")]
    GroupCountMismatch,
    /// More paths than one device holds ([`MAX_PATHS`](crate::MAX_PATHS));
    /// the kernel would take up to 1024 per group.
    #[error("more paths than one device holds")]
    TooManyPaths,

    // ----- status lines -----
    /// A status word that is not a number where one belongs.
    #[error("invalid number")]
    Number,
    /// The INFO line's feature count is not 2, its `queue_io` not 0 or 1,
    /// or its handler or selector status count not 0: dm-mpath and these
    /// selectors always print those.
    #[error("not what dm-mpath prints here")]
    StatusField,
    /// A group state other than `A`, `D`, `E`.
    #[error("invalid group state")]
    GroupState,
    /// A path state other than `A`, `F`.
    #[error("invalid path state")]
    PathState,
    /// `<#info args>` other than 0 (round-robin), 1 (queue-length) or 2
    /// (service-time).
    #[error("unsupported number of selector info args")]
    InfoArgs,
    /// A word where the line should have ended.
    #[error("unexpected word after the line's end")]
    TrailingWord,
    /// A line that ends where a word belongs.
    #[error("line ends too early")]
    MissingWord,

    // ----- messages (multipath_message) -----
    /// Not 1 word (`queue_if_no_path`, `fail_if_no_path`) or 2.
    #[error("Invalid multipath message arguments")]
    MessageArgs,
    /// A message the kernel does not know.
    #[error("Unrecognised multipath message received")]
    UnknownMessage,
    /// A group number that is not 1..=#groups.
    #[error("invalid PG number")]
    GroupNumber,
    /// `fail_path`/`reinstate_path` naming no path of the table.
    #[error("error getting device")]
    NoSuchDevice,
}

/// A line the kernel would refuse: what was wrong, at which word.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{kind} at word {index} ({word:?}, byte {offset})")]
pub struct ParseError<'a> {
    /// What was wrong.
    pub kind: ErrorKind,
    /// The word it is about (empty when the line ended too early).
    pub word: &'a str,
    /// That word's 0-based index in the line.
    pub index: usize,
    /// Its byte offset in the line.
    pub offset: usize,
}

impl<'a> ParseError<'a> {
    pub(crate) const fn at(kind: ErrorKind, w: Word<'a>) -> Self {
        ParseError {
            kind,
            word: w.text,
            index: w.index,
            offset: w.offset,
        }
    }
}
