//! The INFO status line (`dmsetup status`), as `multipath_status` prints
//! it:
//!
//! ```text
//! 2 <queue_io> <pg_init_count> 0 <#groups> <current group>
//!   { A|D|E 0 <#paths> <#info args>
//!       { <device> A|F <fail count> [selector info] } }
//! ```
//!
//! The selector info is nothing for round-robin, the I/Os in flight for
//! queue-length, and the bytes in flight and the relative throughput for
//! service-time. The line does not name the selectors, so a parsed line
//! knows each group's info by its count. The TABLE status line is a
//! [`Table`](crate::Table) printed with the device's current state
//! ([`DmTarget::table_status`](crate::DmTarget::table_status)).

use crate::error::{ErrorKind, ParseError};
use crate::table::{MAX_GROUPS, MAX_PATHS};
use crate::words::{parse_u32, parse_u64, Word, Words};
use core::fmt;

/// A group's state letter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupState {
    /// `A`: the group I/O goes to now.
    Active,
    /// `D`: bypassed (`disable_group`, or its activation found the
    /// controller busy).
    Disabled,
    /// `E`: usable, not current.
    Enabled,
}

impl GroupState {
    const fn letter(self) -> &'static str {
        match self {
            GroupState::Active => "A",
            GroupState::Disabled => "D",
            GroupState::Enabled => "E",
        }
    }
}

/// What a path's selector adds to its status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SelectorInfo {
    /// round-robin: nothing.
    None,
    /// queue-length: I/Os in flight.
    InFlight(u64),
    /// service-time: bytes in flight and relative throughput.
    ServiceTime {
        /// Bytes in flight.
        in_flight_bytes: u64,
        /// Relative throughput, `0..=100`.
        relative_throughput: u8,
    },
}

impl SelectorInfo {
    /// Its number of words (the line's `<#info args>`).
    pub const fn args(self) -> u8 {
        match self {
            SelectorInfo::None => 0,
            SelectorInfo::InFlight(_) => 1,
            SelectorInfo::ServiceTime { .. } => 2,
        }
    }
}

/// One path's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PathStatus<'a> {
    /// The device, as the table named it.
    pub device: &'a str,
    /// `A` (true) or `F`.
    pub active: bool,
    /// How many times the path has gone from active to failed.
    pub fail_count: u32,
    /// The selector's words.
    pub info: SelectorInfo,
}

/// One group's status header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GroupStatus {
    /// Its state letter.
    pub state: GroupState,
    /// `<#info args>` of its paths: 0, 1 or 2.
    pub info_args: u8,
    first: u8,
    len: u8,
}

/// Why a status line could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StatusError {
    /// [`MAX_PATHS`] paths already.
    #[error("the status is full")]
    Full,
    /// A path before any group, or one whose info does not match its
    /// group's count.
    #[error("the path does not fit its group")]
    Mismatch,
}

/// An INFO status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InfoStatus<'a> {
    /// I/O is held until a group's initialisation (`pg_init`) ends.
    pub queue_io: bool,
    /// `pg_init` runs since the group was last switched.
    pub pg_init_count: u32,
    /// The group number printed after the count: the group switched to,
    /// else the current one, else 1 (0 without groups).
    pub current_group: u16,
    groups: heapless::Vec<GroupStatus, MAX_GROUPS>,
    paths: heapless::Vec<PathStatus<'a>, MAX_PATHS>,
}

impl<'a> InfoStatus<'a> {
    /// A line without groups yet.
    pub const fn new(queue_io: bool, pg_init_count: u32, current_group: u16) -> Self {
        InfoStatus {
            queue_io,
            pg_init_count,
            current_group,
            groups: heapless::Vec::new(),
            paths: heapless::Vec::new(),
        }
    }

    /// Add a group whose paths carry `info_args` words of selector info.
    pub fn push_group(&mut self, state: GroupState, info_args: u8) -> Result<(), StatusError> {
        if info_args > 2 {
            return Err(StatusError::Mismatch);
        }
        let first = u8::try_from(self.paths.len()).map_err(|_| StatusError::Full)?;
        self.groups
            .push(GroupStatus {
                state,
                info_args,
                first,
                len: 0,
            })
            .map_err(|_| StatusError::Full)
    }

    /// Add a path to the last group.
    pub fn push_path(&mut self, path: PathStatus<'a>) -> Result<(), StatusError> {
        let g = self.groups.last_mut().ok_or(StatusError::Mismatch)?;
        if path.info.args() != g.info_args {
            return Err(StatusError::Mismatch);
        }
        self.paths.push(path).map_err(|_| StatusError::Full)?;
        g.len = g.len.saturating_add(1);
        Ok(())
    }

    /// The groups, in order.
    pub fn groups(&self) -> &[GroupStatus] {
        &self.groups
    }

    /// The paths of a group.
    pub fn group_paths(&self, group: &GroupStatus) -> &[PathStatus<'a>] {
        let start = usize::from(group.first);
        self.paths
            .get(start..start.saturating_add(usize::from(group.len)))
            .unwrap_or(&[])
    }

    /// Every path, group by group.
    pub fn paths(&self) -> &[PathStatus<'a>] {
        &self.paths
    }

    /// Parse an INFO status line (the target's part, after
    /// `<start> <length> multipath`).
    pub fn parse(line: &'a str) -> Result<InfoStatus<'a>, ParseError<'a>> {
        let mut w = Words::new(line);
        let next = |w: &mut Words<'a>| {
            w.next_word()
                .ok_or(ParseError::at(ErrorKind::MissingWord, w.end()))
        };
        let exact = |w: &mut Words<'a>, want: &str| -> Result<Word<'a>, ParseError<'a>> {
            let x = next(w)?;
            if x.text == want {
                Ok(x)
            } else {
                Err(ParseError::at(ErrorKind::StatusField, x))
            }
        };
        let num = |w: &mut Words<'a>| -> Result<(u32, Word<'a>), ParseError<'a>> {
            let x = next(w)?;
            Ok((
                parse_u32(x.text).ok_or(ParseError::at(ErrorKind::Number, x))?,
                x,
            ))
        };
        exact(&mut w, "2")?;
        let q = next(&mut w)?;
        let queue_io = match q.text {
            "0" => false,
            "1" => true,
            _ => return Err(ParseError::at(ErrorKind::StatusField, q)),
        };
        let (pg_init_count, _) = num(&mut w)?;
        exact(&mut w, "0")?;
        let (n_groups, ng) = num(&mut w)?;
        let (current, cw) = num(&mut w)?;
        let current_group =
            u16::try_from(current).map_err(|_| ParseError::at(ErrorKind::Number, cw))?;
        let mut s = InfoStatus::new(queue_io, pg_init_count, current_group);
        if usize::try_from(n_groups).map_or(true, |n| n > MAX_GROUPS) {
            return Err(ParseError::at(ErrorKind::TooManyPaths, ng));
        }
        for _ in 0..n_groups {
            let st = next(&mut w)?;
            let state = match st.text {
                "A" => GroupState::Active,
                "D" => GroupState::Disabled,
                "E" => GroupState::Enabled,
                _ => return Err(ParseError::at(ErrorKind::GroupState, st)),
            };
            exact(&mut w, "0")?;
            let (n_paths, _) = num(&mut w)?;
            let (info_args, ia) = num(&mut w)?;
            let info_args = u8::try_from(info_args)
                .ok()
                .filter(|n| *n <= 2)
                .ok_or(ParseError::at(ErrorKind::InfoArgs, ia))?;
            s.push_group(state, info_args)
                .map_err(|_| ParseError::at(ErrorKind::TooManyPaths, st))?;
            for _ in 0..n_paths {
                let device = next(&mut w)?;
                let a = next(&mut w)?;
                let active = match a.text {
                    "A" => true,
                    "F" => false,
                    _ => return Err(ParseError::at(ErrorKind::PathState, a)),
                };
                let (fail_count, _) = num(&mut w)?;
                let big = |w: &mut Words<'a>| -> Result<(u64, Word<'a>), ParseError<'a>> {
                    let x = next(w)?;
                    Ok((
                        parse_u64(x.text).ok_or(ParseError::at(ErrorKind::Number, x))?,
                        x,
                    ))
                };
                let info = match info_args {
                    0 => SelectorInfo::None,
                    1 => SelectorInfo::InFlight(big(&mut w)?.0),
                    _ => {
                        let (in_flight_bytes, _) = big(&mut w)?;
                        let (rt, rw) = num(&mut w)?;
                        let relative_throughput = u8::try_from(rt)
                            .ok()
                            .filter(|r| *r <= crate::MAX_RELATIVE_THROUGHPUT)
                            .ok_or(ParseError::at(ErrorKind::Number, rw))?;
                        SelectorInfo::ServiceTime {
                            in_flight_bytes,
                            relative_throughput,
                        }
                    }
                };
                s.push_path(PathStatus {
                    device: device.text,
                    active,
                    fail_count,
                    info,
                })
                .map_err(|_| ParseError::at(ErrorKind::TooManyPaths, device))?;
            }
        }
        if let Some(x) = w.next_word() {
            return Err(ParseError::at(ErrorKind::TrailingWord, x));
        }
        Ok(s)
    }
}

impl fmt::Display for InfoStatus<'_> {
    /// The line as dm-mpath prints it, without its trailing space.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "2 {} {} 0 {} {}",
            u8::from(self.queue_io),
            self.pg_init_count,
            self.groups.len(),
            self.current_group
        )?;
        for g in &self.groups {
            let paths = self.group_paths(g);
            write!(f, " {} 0 {} {}", g.state.letter(), paths.len(), g.info_args)?;
            for p in paths {
                write!(
                    f,
                    " {} {} {}",
                    p.device,
                    if p.active { "A" } else { "F" },
                    p.fail_count
                )?;
                match p.info {
                    SelectorInfo::None => {}
                    SelectorInfo::InFlight(n) => write!(f, " {n}")?,
                    SelectorInfo::ServiceTime {
                        in_flight_bytes,
                        relative_throughput,
                    } => write!(f, " {in_flight_bytes} {relative_throughput}")?,
                }
            }
        }
        Ok(())
    }
}
