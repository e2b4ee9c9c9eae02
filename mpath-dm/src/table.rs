//! A dm `multipath` table line: parse and emit, with `multipath_ctr`'s
//! grammar and checks.
//!
//! ```text
//! <#features> [features]  <#hw_handler args> [name [args]]
//! <#priority groups> <initial group>
//!   { <selector> <#selector args> [args] <#paths> <#per-path args>
//!       { <device> [per-path args] } }
//! ```
//!
//! [`Table::parse`] takes the target's parameters (what follows
//! `<start> <length> multipath`; [`target_params`] finds them in a
//! `dmsetup table` line). Every count is followed by exactly that many
//! words, every bound the kernel checks is checked, and an error names the
//! word and its position. [`Table`]'s `Display` is the kernel's canonical
//! form, what `dmsetup table` prints for a table just loaded: features in
//! the kernel's order, the hardware handler's name without its arguments,
//! selector arguments as `0` (round-robin, queue-length and service-time
//! print none), each path's `repeat_count` as the kernel keeps it (zero
//! or one) and service-time's relative throughput. The kernel leaves a
//! space after the last word; `Display` does not.
//!
//! Parsing never panics and allocates nothing: words are borrowed from the
//! line, groups and paths live in fixed arrays.

use crate::error::{ErrorKind, ParseError};
use crate::selector::{PathArgs, Selector, MAX_RELATIVE_THROUGHPUT};
use crate::words::{is_space, is_space_char, parse_u32, Word, Words};
use core::fmt;

/// The most paths a table may list: one device's path table
/// ([`mpath_core::MAX_PATHS`]).
pub const MAX_PATHS: usize = mpath_core::MAX_PATHS;
/// The most groups: every group has at least one path.
pub const MAX_GROUPS: usize = MAX_PATHS;

/// The kernel's `dm_arg` upper bound on every count but the features'.
const MAX_COUNT: u32 = 1024;
/// `<#features>` is 0-8.
const MAX_FEATURE_ARGS: u32 = 8;
/// `pg_init_retries` is 1-50.
pub const MAX_PG_INIT_RETRIES: u8 = 50;
/// `pg_init_delay_msecs` is 0-60000.
pub const MAX_PG_INIT_DELAY_MSECS: u16 = 60_000;

/// How the dm device queues I/O (`queue_mode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum QueueMode {
    /// Request-based, the kernel's default. `rq` and `mq` both select it
    /// (the legacy request path is gone; `mq` stays accepted), and the
    /// table does not print it.
    #[default]
    Request,
    /// Bio-based (`queue_mode bio`): no hardware handler management; the
    /// kernel sets `retain_attached_hw_handler` and ignores a handler
    /// named in the table.
    Bio,
}

/// The feature words.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Features {
    /// `queue_if_no_path`: hold I/O while no path is left.
    pub queue_if_no_path: bool,
    /// `retain_attached_hw_handler` (set by `queue_mode bio` too).
    pub retain_attached_hw_handler: bool,
    /// `pg_init_retries N`, 1-50; `None` is the kernel's 0 (no retry).
    pub pg_init_retries: Option<u8>,
    /// `pg_init_delay_msecs N`, 0-60000; `None` is the kernel's default
    /// (2000 ms between retries that asked for a delay).
    pub pg_init_delay_msecs: Option<u16>,
    /// `queue_mode`.
    pub queue_mode: QueueMode,
}

impl Features {
    /// The words the kernel prints after the count.
    fn count(&self) -> u32 {
        let two = |b: bool| if b { 2u32 } else { 0 };
        u32::from(self.queue_if_no_path)
            .saturating_add(two(self.pg_init_retries.is_some()))
            .saturating_add(two(self.pg_init_delay_msecs.is_some()))
            .saturating_add(u32::from(self.retain_attached_hw_handler))
            .saturating_add(two(self.queue_mode == QueueMode::Bio))
    }
}

/// Words borrowed from the line: a count and their text, first to last.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct Args<'a> {
    text: &'a str,
    count: u16,
}

impl<'a> Args<'a> {
    /// How many words.
    pub fn len(&self) -> usize {
        // u16 to usize: lossless on every target with 16-bit or wider usize.
        usize::from(self.count)
    }

    /// Whether there are none.
    pub const fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// The words.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> {
        self.text.split(is_space_char).filter(|w| !w.is_empty())
    }
}

/// The hardware handler (`scsi_dh`) a table names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HwHandler<'a> {
    /// Its name (`alua`, `emc`, `rdac`, `hp_sw`).
    pub name: &'a str,
    /// Its parameters, passed to `scsi_dh_set_params`; the table status
    /// does not print them.
    pub args: Args<'a>,
}

/// One path of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TablePath<'a> {
    /// The device as the table names it (`8:16`, `/dev/sdb`).
    pub device: &'a str,
    /// Its selector arguments.
    pub args: PathArgs,
}

/// One priority group's header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Group<'a> {
    /// Its path selector.
    pub selector: Selector,
    /// The selector's arguments (these selectors take and print none).
    pub selector_args: Args<'a>,
    first: u8,
    len: u8,
}

/// Why a table could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// [`MAX_PATHS`] paths already.
    #[error("the table is full")]
    Full,
    /// A path before any group.
    #[error("no group to add the path to")]
    NoGroup,
    /// An initial group that is not one of the table's.
    #[error("no such group")]
    GroupNumber,
    /// A device or handler name that is not one non-empty word.
    #[error("not one word")]
    NotAWord,
    /// A feature or argument outside the kernel's range.
    #[error("out of the kernel's range")]
    OutOfRange,
}

/// A `multipath` target's table.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Table<'a> {
    /// Features.
    pub features: Features,
    /// The hardware handler, if any.
    pub hw_handler: Option<HwHandler<'a>>,
    initial_group: u16,
    groups: heapless::Vec<Group<'a>, MAX_GROUPS>,
    paths: heapless::Vec<TablePath<'a>, MAX_PATHS>,
}

fn one_word(s: &str) -> bool {
    !s.is_empty() && !s.bytes().any(is_space)
}

impl<'a> Table<'a> {
    /// A table with no features, no handler and no groups (`0 0 0 0`).
    pub const fn new() -> Self {
        Table {
            features: Features {
                queue_if_no_path: false,
                retain_attached_hw_handler: false,
                pg_init_retries: None,
                pg_init_delay_msecs: None,
                queue_mode: QueueMode::Request,
            },
            hw_handler: None,
            initial_group: 0,
            groups: heapless::Vec::new(),
            paths: heapless::Vec::new(),
        }
    }

    /// Add a group; the first becomes the initial group.
    pub fn push_group(&mut self, selector: Selector) -> Result<(), BuildError> {
        self.groups
            .push(Group {
                selector,
                selector_args: Args::default(),
                first: u8::try_from(self.paths.len()).map_err(|_| BuildError::Full)?,
                len: 0,
            })
            .map_err(|_| BuildError::Full)?;
        if self.initial_group == 0 {
            self.initial_group = 1;
        }
        Ok(())
    }

    /// Add a path to the last group.
    pub fn push_path(&mut self, device: &'a str, args: PathArgs) -> Result<(), BuildError> {
        if !one_word(device) {
            return Err(BuildError::NotAWord);
        }
        if args.repeat_count > 1 || args.relative_throughput > MAX_RELATIVE_THROUGHPUT {
            return Err(BuildError::OutOfRange);
        }
        let g = self.groups.last_mut().ok_or(BuildError::NoGroup)?;
        self.paths
            .push(TablePath { device, args })
            .map_err(|_| BuildError::Full)?;
        g.len = g.len.saturating_add(1);
        Ok(())
    }

    /// Choose the initial group (1-based).
    pub fn set_initial_group(&mut self, group: u16) -> Result<(), BuildError> {
        if group == 0 || usize::from(group) > self.groups.len() {
            return Err(BuildError::GroupNumber);
        }
        self.initial_group = group;
        Ok(())
    }

    /// Whether [`Display`](fmt::Display) gives a line that parses back to
    /// this table: features within the kernel's ranges, handler name one
    /// word without arguments, every group with a path.
    pub fn check(&self) -> Result<(), BuildError> {
        let f = &self.features;
        if f.pg_init_retries
            .is_some_and(|r| r == 0 || r > MAX_PG_INIT_RETRIES)
            || f.pg_init_delay_msecs
                .is_some_and(|d| d > MAX_PG_INIT_DELAY_MSECS)
            || (f.queue_mode == QueueMode::Bio
                && (!f.retain_attached_hw_handler || self.hw_handler.is_some()))
        {
            return Err(BuildError::OutOfRange);
        }
        if let Some(h) = self.hw_handler {
            if !one_word(h.name) || !h.args.is_empty() {
                return Err(BuildError::NotAWord);
            }
        }
        if self
            .groups
            .iter()
            .any(|g| g.len == 0 || !g.selector_args.is_empty())
        {
            return Err(BuildError::OutOfRange);
        }
        Ok(())
    }

    /// The initial group, 1-based; 0 only in a table without groups. A
    /// table whose initial group is past its last starts from group 1, as
    /// the kernel does (it never finds the group and prints 1).
    pub const fn initial_group(&self) -> u16 {
        self.initial_group
    }

    /// How many groups.
    pub fn group_count(&self) -> usize {
        self.groups.len()
    }

    /// The groups, in order (group `n` is at index `n - 1`).
    pub fn groups(&self) -> &[Group<'a>] {
        &self.groups
    }

    /// Every path, group by group.
    pub fn paths(&self) -> &[TablePath<'a>] {
        &self.paths
    }

    /// The paths of a group.
    pub fn group_paths(&self, group: &Group<'a>) -> &[TablePath<'a>] {
        let start = usize::from(group.first);
        self.paths
            .get(start..start.saturating_add(usize::from(group.len)))
            .unwrap_or(&[])
    }

    /// The 1-based group number of the path at `index` in [`paths`](Self::paths).
    pub fn group_of(&self, index: usize) -> Option<u16> {
        let pos = self.groups.iter().position(|g| {
            let start = usize::from(g.first);
            index >= start && index < start.saturating_add(usize::from(g.len))
        })?;
        u16::try_from(pos).ok()?.checked_add(1)
    }

    /// Parse a table's parameters the way `multipath_ctr` does.
    pub fn parse(params: &'a str) -> Result<Table<'a>, ParseError<'a>> {
        let mut w = Words::new(params);
        let mut t = Table::new();
        parse_features(&mut w, &mut t.features)?;
        t.hw_handler = parse_hw_handler(&mut w, &t.features)?;

        let n_groups = read_count(&mut w, ErrorKind::GroupCount, 0, MAX_COUNT)?;
        let init_word = w.clone().next_word().unwrap_or(w.end());
        let init = read_count(&mut w, ErrorKind::InitialGroupNumber, 0, MAX_COUNT)?;
        if (n_groups == 0) != (init == 0) {
            return Err(ParseError::at(ErrorKind::InitialGroup, init_word));
        }
        let mut extra: Option<Word<'a>> = None;
        let mut parsed = 0u32;
        while let Some(start) = w.clone().next_word() {
            if parsed == n_groups && extra.is_none() {
                extra = Some(start);
            }
            parse_group(&mut w, &mut t)?;
            parsed = parsed.saturating_add(1);
        }
        if parsed != n_groups {
            let at = extra.unwrap_or(w.end());
            return Err(ParseError::at(ErrorKind::GroupCountMismatch, at));
        }
        t.initial_group = if init <= n_groups {
            u16::try_from(init).unwrap_or(1)
        } else {
            1
        };
        Ok(t)
    }
}

/// A count the kernel reads with `dm_read_arg`: a number in `min..=max`,
/// the error naming the word (or the line's end).
fn read_count<'a>(
    w: &mut Words<'a>,
    kind: ErrorKind,
    min: u32,
    max: u32,
) -> Result<u32, ParseError<'a>> {
    let word = w.next_word().ok_or(ParseError::at(kind, w.end()))?;
    parse_u32(word.text)
        .filter(|n| (min..=max).contains(n))
        .ok_or(ParseError::at(kind, word))
}

/// `dm_read_arg_group`: a count that must also not exceed the words left.
fn read_group_count<'a>(
    w: &mut Words<'a>,
    kind: ErrorKind,
    max: u32,
) -> Result<usize, ParseError<'a>> {
    let word = w.clone().next_word().unwrap_or(w.end());
    let n = read_count(w, kind, 0, max)?;
    let n = usize::try_from(n).map_err(|_| ParseError::at(kind, word))?;
    if n > w.remaining() {
        return Err(ParseError::at(kind, word));
    }
    Ok(n)
}

fn parse_features<'a>(w: &mut Words<'a>, f: &mut Features) -> Result<(), ParseError<'a>> {
    let mut left = read_group_count(w, ErrorKind::FeatureCount, MAX_FEATURE_ARGS)?;
    while left > 0 {
        let name = w
            .next_word()
            .ok_or(ParseError::at(ErrorKind::FeatureCount, w.end()))?;
        left = left.saturating_sub(1);
        let is = |s: &str| name.text.eq_ignore_ascii_case(s);
        if is("queue_if_no_path") {
            f.queue_if_no_path = true;
        } else if is("retain_attached_hw_handler") {
            f.retain_attached_hw_handler = true;
        } else if is("pg_init_retries") && left >= 1 {
            left = left.saturating_sub(1);
            let n = read_count(
                w,
                ErrorKind::PgInitRetries,
                1,
                u32::from(MAX_PG_INIT_RETRIES),
            )?;
            f.pg_init_retries = u8::try_from(n).ok();
        } else if is("pg_init_delay_msecs") && left >= 1 {
            left = left.saturating_sub(1);
            let n = read_count(
                w,
                ErrorKind::PgInitDelay,
                0,
                u32::from(MAX_PG_INIT_DELAY_MSECS),
            )?;
            f.pg_init_delay_msecs = u16::try_from(n).ok();
        } else if is("queue_mode") && left >= 1 {
            left = left.saturating_sub(1);
            let mode = w
                .next_word()
                .ok_or(ParseError::at(ErrorKind::QueueMode, w.end()))?;
            let m = |s: &str| mode.text.eq_ignore_ascii_case(s);
            f.queue_mode = if m("bio") {
                QueueMode::Bio
            } else if m("rq") || m("mq") {
                QueueMode::Request
            } else {
                return Err(ParseError::at(ErrorKind::QueueMode, mode));
            };
        } else {
            return Err(ParseError::at(ErrorKind::UnknownFeature, name));
        }
    }
    // alloc_multipath_stage2: bio-based keeps whatever handler is attached.
    if f.queue_mode == QueueMode::Bio {
        f.retain_attached_hw_handler = true;
    }
    Ok(())
}

fn parse_hw_handler<'a>(
    w: &mut Words<'a>,
    f: &Features,
) -> Result<Option<HwHandler<'a>>, ParseError<'a>> {
    let n = read_group_count(w, ErrorKind::HwHandlerCount, MAX_COUNT)?;
    if n == 0 {
        return Ok(None);
    }
    let name = w
        .next_word()
        .ok_or(ParseError::at(ErrorKind::HwHandlerCount, w.end()))?;
    let rest = n.saturating_sub(1);
    let (text, _) = w
        .take_span(rest)
        .ok_or(ParseError::at(ErrorKind::HwHandlerCount, w.end()))?;
    if f.queue_mode == QueueMode::Bio {
        // "bio-based multipath doesn't allow hardware handler args": the
        // kernel consumes them and carries on without a handler.
        return Ok(None);
    }
    Ok(Some(HwHandler {
        name: name.text,
        args: Args {
            text,
            count: u16::try_from(rest).unwrap_or(u16::MAX),
        },
    }))
}

fn parse_group<'a>(w: &mut Words<'a>, t: &mut Table<'a>) -> Result<(), ParseError<'a>> {
    let start = w.clone().next_word().unwrap_or(w.end());
    if w.remaining() < 2 {
        return Err(ParseError::at(ErrorKind::GroupArgs, start));
    }
    let name = w
        .next_word()
        .ok_or(ParseError::at(ErrorKind::GroupArgs, start))?;
    let selector =
        Selector::from_name(name.text).ok_or(ParseError::at(ErrorKind::UnknownSelector, name))?;
    let n_args = read_group_count(w, ErrorKind::SelectorArgCount, MAX_COUNT)?;
    let (text, _) = w
        .take_span(n_args)
        .ok_or(ParseError::at(ErrorKind::SelectorArgCount, w.end()))?;
    let n_paths = read_count(w, ErrorKind::PathCount, 1, MAX_COUNT)?;
    let per_path = read_count(w, ErrorKind::PerPathArgCount, 0, MAX_COUNT)?;
    let per_path = usize::try_from(per_path).unwrap_or(usize::MAX);
    let first =
        u8::try_from(t.paths.len()).map_err(|_| ParseError::at(ErrorKind::TooManyPaths, name))?;
    let mut len = 0u8;
    for _ in 0..n_paths {
        let at = w.clone().next_word().unwrap_or(w.end());
        if w.remaining() < per_path.saturating_add(1) {
            return Err(ParseError::at(ErrorKind::PathArgs, at));
        }
        let device = w
            .next_word()
            .ok_or(ParseError::at(ErrorKind::PathArgs, at))?;
        // A selector reads at most two arguments; one more is enough to
        // name the first it refuses.
        let mut args: heapless::Vec<Word<'a>, 3> = heapless::Vec::new();
        for _ in 0..per_path {
            let a = w
                .next_word()
                .ok_or(ParseError::at(ErrorKind::PathArgs, w.end()))?;
            let _ = args.push(a);
        }
        let args = PathArgs::parse(selector, &args)?;
        t.paths
            .push(TablePath {
                device: device.text,
                args,
            })
            .map_err(|_| ParseError::at(ErrorKind::TooManyPaths, device))?;
        len = len.saturating_add(1);
    }
    t.groups
        .push(Group {
            selector,
            selector_args: Args {
                text,
                count: u16::try_from(n_args).unwrap_or(u16::MAX),
            },
            first,
            len,
        })
        .map_err(|_| ParseError::at(ErrorKind::TooManyPaths, name))?;
    Ok(())
}

/// The parameters of a `multipath` target in a `dmsetup table` line
/// (`[name:] <start> <length> multipath <params>`), or `None` if the line
/// is not one.
pub fn target_params(line: &str) -> Option<&str> {
    let mut w = Words::new(line);
    let mut first = w.next_word()?;
    if first.text.ends_with(':') {
        first = w.next_word()?;
    }
    crate::words::parse_u64(first.text)?;
    crate::words::parse_u64(w.next_word()?.text)?;
    let target = w.next_word()?;
    if target.text != "multipath" {
        return None;
    }
    let rest = line.get(target.offset.saturating_add(target.text.len())..)?;
    Some(rest.trim_start_matches(is_space_char))
}

/// Write `group`'s header and paths the way the TABLE status does.
pub(crate) fn fmt_group(
    f: &mut fmt::Formatter<'_>,
    group: &Group<'_>,
    paths: &[TablePath<'_>],
) -> fmt::Result {
    write!(
        f,
        " {} 0 {} {}",
        group.selector,
        paths.len(),
        group.selector.table_args()
    )?;
    for p in paths {
        write!(f, " {} {}", p.device, p.args.repeat_count)?;
        if group.selector == Selector::ServiceTime {
            write!(f, " {}", p.args.relative_throughput)?;
        }
    }
    Ok(())
}

pub(crate) fn fmt_features(f: &mut fmt::Formatter<'_>, x: &Features) -> fmt::Result {
    write!(f, "{}", x.count())?;
    if x.queue_if_no_path {
        f.write_str(" queue_if_no_path")?;
    }
    if let Some(r) = x.pg_init_retries {
        write!(f, " pg_init_retries {r}")?;
    }
    if let Some(d) = x.pg_init_delay_msecs {
        write!(f, " pg_init_delay_msecs {d}")?;
    }
    if x.retain_attached_hw_handler {
        f.write_str(" retain_attached_hw_handler")?;
    }
    if x.queue_mode == QueueMode::Bio {
        f.write_str(" queue_mode bio")?;
    }
    Ok(())
}

impl fmt::Display for Table<'_> {
    /// The kernel's canonical form (`dmsetup table`), without its
    /// trailing space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_features(f, &self.features)?;
        match &self.hw_handler {
            Some(h) => write!(f, " 1 {}", h.name)?,
            None => f.write_str(" 0")?,
        }
        write!(f, " {} {}", self.groups.len(), self.initial_group)?;
        for g in &self.groups {
            fmt_group(f, g, self.group_paths(g))?;
        }
        Ok(())
    }
}
