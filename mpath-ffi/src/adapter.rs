//! What the SCSI and NVMe adapter exports share: the device's actions as
//! C hands them back, the data-in buffer of a response, what applying a
//! response did ([`MpathApplied`]), and a classified completion going out.
//!
//! An adapter serves one device and sits beside it (`mpath_scsi_*` over
//! [`MpathScsiAdapter`](crate::scsi::MpathScsiAdapter), `mpath_nvme_*` over
//! [`MpathNvmeAdapter`](crate::nvme::MpathNvmeAdapter)); the exports that
//! feed the device take both. The call order is the adapters' own:
//!
//! 1. Discover each path (INQUIRY and VPD page 83h; Identify), add it with
//!    `mpath_*_add_path`.
//! 2. For each action `mpath_poll_action` gives, `mpath_*_map_action`:
//!    `1` and a command to send (with a tag), `0` for an action C carries
//!    out itself (dispatch, fail, head changes), or an error, after which
//!    `mpath_*_settle_unmapped` tells the device how the action ended.
//! 3. Each command's response goes to `mpath_*_apply` with its tag (the
//!    reservation commands' too: the adapter knows which is which); it
//!    returns `1` when the command in `next` is to be sent now in its
//!    place.
//! 4. I/O completions that were not plain successes go through
//!    `mpath_*_classify_completion` to `mpath_handle_completion`.
//!
//! Refusals change nothing (a negative errno, the command still
//! awaiting its response). A response that was applied but told of a
//! failure (a failed REPORT TARGET PORT GROUPS, a malformed ANA log) is not
//! a refusal: the adapter has told the device (its refresh failed, say),
//! the command is answered, and [`MpathApplied::result`] says why.

use crate::codes::{
    MpathActionKind, MpathAppliedKind, MpathOutcome, MpathPathError, MpathPrCommand,
    MpathPrReplyKind, MpathPrType, MpathRetryReason, MpathTargetError,
};
use crate::control_io::MpathAction;
use crate::device::MpathDevice;
use crate::device::{path, Dev};
use crate::errno::{of_error, EFAULT, EINVAL, ERANGE};
use crate::io::MpathCompletion;
use crate::reservation::{MpathPrAction, MpathPrReply};
use crate::{flag, u8_of};
use core::ffi::c_int;
use mpath_core::reservation::{PrAction, PrCommand, PrReply};
use mpath_core::{Action, Completion, GroupId, Instant, Notices, Outcome, PathId};

/// The largest data-in a response carries: what a 16-bit ALLOCATION
/// LENGTH can ask for, and the adapter's REPORT TARGET PORT GROUPS bound
/// (64 KiB). NVMe paths whose whole ANA log is longer are refused.
pub const MPATH_DATA_IN_MAX: usize = 65536;

/// Commands awaiting their response, per adapter: each path can have a
/// probe, an access-state read and a reservation command in flight at
/// once, and one activation per group; C refuses to map more with
/// `-ENOSPC` (the action stays C's to map later).
pub const MPATH_ADAPTER_MAX_PENDING: usize = 4 * crate::dataplane::MPATH_MAX_PATHS;

/// The data-in buffer of a response (caller memory, reused across
/// responses): its first `data_in_len` bytes, as the response says.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MpathDataIn {
    /// The bytes that came back.
    pub bytes: [u8; MPATH_DATA_IN_MAX],
}

/// The first `len` bytes of `buf`: none when `len` is 0 (`buf` may then be
/// `NULL`), `-EFAULT` for a `NULL` buffer with data, `-EINVAL` for a
/// length past the buffer.
pub(crate) fn data_in(buf: Option<&MpathDataIn>, len: u32) -> Result<&[u8], c_int> {
    if len == 0 {
        return Ok(&[]);
    }
    let len = usize::try_from(len).map_err(|_| -EINVAL)?;
    buf.ok_or(-EFAULT)?.bytes.get(..len).ok_or(-EINVAL)
}

/// `-ERANGE` if `now` is earlier than a time the device has seen: checked
/// before the adapter feeds the device anything, so that a response is
/// either applied whole or not at all.
pub(crate) fn check_time(dev: &Dev, now: Instant) -> Result<(), c_int> {
    if now < dev.now() {
        return Err(-ERANGE);
    }
    Ok(())
}

/// What applying a response did.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathApplied {
    /// [`MpathAppliedKind`] code.
    pub kind: u32,
    /// `Failed`: the negative errno of what went wrong (`errno` module:
    /// `-ENOLINK` path error, `-EREMOTEIO` target refusal, `-EBADMSG`
    /// malformed data, `-EMSGSIZE` too much data, ...); otherwise 0.
    pub result: c_int,
    /// `Probe`: the [`MpathProbeResult`](crate::codes::MpathProbeResult)
    /// code given to the device.
    pub probe: u32,
    /// `Activation`: the
    /// [`MpathActivationResult`](crate::codes::MpathActivationResult) code
    /// given to the device.
    pub activation: u32,
    /// `Refresh`: groups (SCSI) or paths (NVMe) whose state went to the
    /// device; `Notification`: pages still queued.
    pub count: u32,
    /// [`notice`](crate::io::notice) bits the response carried that went
    /// to the device with a reservation answer or resend.
    pub notices: u32,
    /// `Reservation`: the answer given to the device.
    pub pr: MpathPrReply,
}

impl MpathApplied {
    pub(crate) fn of_kind(kind: MpathAppliedKind) -> Self {
        MpathApplied {
            kind: kind.code(),
            ..MpathApplied::default()
        }
    }

    /// A command the adapter applied as failed, and why.
    pub(crate) fn failed(result: c_int) -> Self {
        MpathApplied {
            result,
            ..Self::of_kind(MpathAppliedKind::Failed)
        }
    }
}

// ----- actions back from C -----

impl MpathPrAction {
    /// The coordinator's command again, or `-EINVAL` for a code outside
    /// its table or a flag not 0/1.
    pub(crate) fn decode(&self) -> Result<PrAction, c_int> {
        let rtype = || MpathPrType::parse(self.rtype).map(MpathPrType::to_core);
        let key = self.key;
        let command = match MpathPrCommand::parse(self.command)? {
            MpathPrCommand::Register => PrCommand::Register { key },
            MpathPrCommand::Unregister => PrCommand::Unregister,
            MpathPrCommand::ReadKeys => PrCommand::ReadKeys,
            MpathPrCommand::ReadReservation => PrCommand::ReadReservation,
            MpathPrCommand::Reserve => PrCommand::Reserve {
                key,
                rtype: rtype()?,
            },
            MpathPrCommand::Release => PrCommand::Release {
                key,
                rtype: rtype()?,
            },
            MpathPrCommand::Preempt => PrCommand::Preempt {
                key,
                victim: self.victim,
                rtype: rtype()?,
                abort: flag(self.abort)?,
            },
            MpathPrCommand::Clear => PrCommand::Clear { key },
            MpathPrCommand::RegisterAndMove => PrCommand::RegisterAndMove {
                key,
                dest_key: self.victim,
                rtype: rtype()?,
                relative_target_port: self.relative_target_port,
            },
        };
        Ok(PrAction {
            via: path(self.via),
            command,
        })
    }
}

/// The device's action `a` as `mpath_poll_action` gave it: `None` for the
/// actions that are no transport command (dispatch, fail, head changes),
/// `-EINVAL` for a code outside its table.
pub(crate) fn action(a: &MpathAction) -> Result<Option<Action>, c_int> {
    Ok(Some(match MpathActionKind::parse(a.kind)? {
        MpathActionKind::Probe => Action::Probe(path(a.path)),
        MpathActionKind::RefreshAccessState => Action::RefreshAccessState { via: path(a.path) },
        MpathActionKind::ActivateGroup => Action::ActivateGroup {
            group: GroupId(a.group),
            via: path(a.path),
        },
        MpathActionKind::TransitionTimedOut => Action::TransitionTimedOut {
            group: GroupId(a.group),
        },
        MpathActionKind::Reservation => Action::Reservation(a.pr.decode()?),
        MpathActionKind::Dispatch
        | MpathActionKind::Fail
        | MpathActionKind::HeadLive
        | MpathActionKind::HeadRemoved => return Ok(None),
    }))
}

// ----- outputs -----

impl MpathCompletion {
    /// A classified completion, as `mpath_handle_completion` takes it.
    pub(crate) fn of(c: &Completion) -> Self {
        let (outcome, detail, delay_ns) = match c.outcome {
            Outcome::Success => (MpathOutcome::Success.code(), 0, 0),
            Outcome::PathError(k) => (MpathOutcome::PathError.code(), MpathPathError::of(k), 0),
            Outcome::TargetError(t) => {
                (MpathOutcome::TargetError.code(), MpathTargetError::of(t), 0)
            }
            Outcome::ReservationConflict => (MpathOutcome::ReservationConflict.code(), 0, 0),
            Outcome::Retry { reason, delay } => (
                MpathOutcome::Retry.code(),
                MpathRetryReason::of(reason),
                delay.as_nanos(),
            ),
            _ => (crate::codes::MPATH_CODE_UNKNOWN, 0, 0),
        };
        MpathCompletion {
            outcome,
            detail,
            delay_ns,
            notices: u32::from(c.notices.bits()),
            reserved: 0,
        }
    }
}

impl MpathPrReply {
    /// The answer an adapter gave the device, for C to see.
    pub(crate) fn of(r: PrReply) -> Self {
        let mut out = MpathPrReply::default();
        let kind = match r {
            PrReply::Done => MpathPrReplyKind::Done,
            PrReply::Keys { ours, total, here } => {
                out.ours = ours;
                out.total = total;
                out.here = match here {
                    None => 0,
                    Some(false) => 1,
                    Some(true) => 2,
                };
                MpathPrReplyKind::Keys
            }
            PrReply::Reservation(r) => {
                if let Some((key, t)) = r {
                    out.has_reservation = u8_of(true);
                    out.holder_key = key;
                    out.rtype = MpathPrType::of(t);
                }
                MpathPrReplyKind::Reservation
            }
            PrReply::Conflict => MpathPrReplyKind::Conflict,
            PrReply::PathFailed => MpathPrReplyKind::PathFailed,
            PrReply::Refused => MpathPrReplyKind::Refused,
        };
        out.kind = kind.code();
        out
    }
}

/// A decoded reservation response, as both adapters' `pr_reply` give it:
/// the command to send in its place, or the answer for the device.
pub(crate) enum PrSettled<C> {
    /// Send this instead (SCSI: again after a unit attention; NVMe:
    /// Replace after Register met a registration, a larger report).
    Resend(C),
    /// The reply to hand the device.
    Answer(PrReply),
}

/// What both adapters do with a decoded reservation response: a resend
/// goes back to C; an answer goes to the device (refused there, nothing
/// changed); then the response's notices, which a path removed while its
/// command was out has nowhere to take. `result` is the reason the data
/// was unusable, 0 if it was not.
pub(crate) fn settle_reservation<C>(
    dev: &mut MpathDevice,
    via: PathId,
    settled: PrSettled<C>,
    result: c_int,
    notices: Notices,
    now: Instant,
) -> Result<(MpathApplied, Option<C>), c_int> {
    let bits = u32::from(notices.bits());
    let done = match settled {
        PrSettled::Resend(next) => (
            MpathApplied {
                notices: bits,
                ..MpathApplied::of_kind(MpathAppliedKind::ReservationResend)
            },
            Some(next),
        ),
        PrSettled::Answer(reply) => {
            dev.dev
                .handle_reservation_reply(via, reply, now)
                .map_err(of_error)?;
            (
                MpathApplied {
                    result,
                    notices: bits,
                    pr: MpathPrReply::of(reply),
                    ..MpathApplied::of_kind(MpathAppliedKind::Reservation)
                },
                None,
            )
        }
    };
    if !notices.is_empty() {
        let _ = dev.dev.handle_notices(via, notices, now);
    }
    Ok(done)
}
