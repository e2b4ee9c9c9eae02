//! `dmsetup message` words for the `multipath` target, checked as
//! `multipath_message` checks them: one word (`queue_if_no_path`,
//! `fail_if_no_path`) or two; names compared without case; a group number
//! that is a plain `%u`, not 0 and (when applied, [`DmTarget::message`](crate::DmTarget::message))
//! not past the last group.

use crate::error::{ErrorKind, ParseError};
use crate::words::{parse_u32, Words};

/// A message to the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Message<'a> {
    /// Hold I/O while no path is left.
    QueueIfNoPath,
    /// Fail I/O while no path is left (and what is held).
    FailIfNoPath,
    /// Bypass group N (1-based) while another has a usable path.
    DisableGroup(u32),
    /// Stop bypassing group N.
    EnableGroup(u32),
    /// Use group N from the next I/O on; every group's bypass is cleared.
    SwitchGroup(u32),
    /// Fail the paths that are this device.
    FailPath(&'a str),
    /// Reinstate the paths that are this device.
    ReinstatePath(&'a str),
}

impl<'a> Message<'a> {
    /// Parse a message's words (what follows `dmsetup message <dev>
    /// <sector>`).
    pub fn parse(line: &'a str) -> Result<Message<'a>, ParseError<'a>> {
        let mut w = Words::new(line);
        let first = w
            .next_word()
            .ok_or(ParseError::at(ErrorKind::MessageArgs, w.end()))?;
        let second = w.next_word();
        let third = w.next_word();
        let is = |s: &str| first.text.eq_ignore_ascii_case(s);
        if second.is_none() {
            if is("queue_if_no_path") {
                return Ok(Message::QueueIfNoPath);
            }
            if is("fail_if_no_path") {
                return Ok(Message::FailIfNoPath);
            }
        }
        // "Invalid multipath message arguments. Expected 2 arguments":
        // the kernel names no word; the first one out of place is named.
        let arg = match (second, third) {
            (Some(a), None) => a,
            (_, Some(extra)) => return Err(ParseError::at(ErrorKind::MessageArgs, extra)),
            (None, None) => return Err(ParseError::at(ErrorKind::MessageArgs, w.end())),
        };
        let group = || {
            parse_u32(arg.text)
                .filter(|n| *n != 0)
                .ok_or(ParseError::at(ErrorKind::GroupNumber, arg))
        };
        if is("disable_group") {
            Ok(Message::DisableGroup(group()?))
        } else if is("enable_group") {
            Ok(Message::EnableGroup(group()?))
        } else if is("switch_group") {
            Ok(Message::SwitchGroup(group()?))
        } else if is("reinstate_path") {
            Ok(Message::ReinstatePath(arg.text))
        } else if is("fail_path") {
            Ok(Message::FailPath(arg.text))
        } else {
            Err(ParseError::at(ErrorKind::UnknownMessage, first))
        }
    }
}

impl core::fmt::Display for Message<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Message::QueueIfNoPath => f.write_str("queue_if_no_path"),
            Message::FailIfNoPath => f.write_str("fail_if_no_path"),
            Message::DisableGroup(n) => write!(f, "disable_group {n}"),
            Message::EnableGroup(n) => write!(f, "enable_group {n}"),
            Message::SwitchGroup(n) => write!(f, "switch_group {n}"),
            Message::FailPath(d) => write!(f, "fail_path {d}"),
            Message::ReinstatePath(d) => write!(f, "reinstate_path {d}"),
        }
    }
}
