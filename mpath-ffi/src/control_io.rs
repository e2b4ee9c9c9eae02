//! I/O on the device: the slow-path submit, completions that were not
//! plain successes, cancel, and `mpath_poll_action`, with the two outputs
//! they produce ([`MpathDisposition`], [`MpathAction`]). `mpath_poll_action`
//! is the device's one action stream: the controller's actions (probes,
//! access-state re-reads, activations, held-I/O dispatches and failures,
//! head changes), then the reservation coordinator's commands.
//!
//! A dispatch hands a ticket to C. It goes into a ticket slot the caller
//! passes ([`MpathTicket`]); an export that may dispatch refuses a slot
//! that still holds a started I/O with `-EEXIST` before changing anything.

use crate::codes::{MpathActionKind, MpathDispositionKind, MpathIoError, MPATH_CODE_UNKNOWN};
use crate::device::{at, MpathDevice};
use crate::errno;
use crate::io::{io_error_codes, MpathCompletion, MpathIo, MpathTicket};
use crate::reservation::MpathPrAction;
use crate::{found, need, ret, Ret};
use core::ffi::c_int;
use mpath_core::{Action, Disposition, Io, IoError, IoTag};

/// What became of an I/O the control plane was handed
/// ([`Disposition`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathDisposition {
    /// [`MpathDispositionKind`] code.
    pub kind: u32,
    /// `Done`: [`MpathIoError`] code (`Ok` for success).
    pub io_error: u32,
    /// `Done` with a target error: its
    /// [`MpathTargetError`](crate::codes::MpathTargetError) code.
    pub target_error: u32,
    /// `Done`: 0, or the errno to complete the request with.
    pub errno_code: c_int,
    /// `Dispatch`: the path the ticket is for.
    pub path: u32,
    /// Zero.
    pub reserved: u32,
    /// `Done`, `Dispatch`, `Busy`: the I/O.
    pub io: MpathIo,
}

impl MpathDisposition {
    /// Encode `d`, putting a dispatched ticket into `slot` (checked empty
    /// by the caller before the core ran).
    fn of(d: Disposition, slot: &mut MpathTicket) -> Self {
        let mut out = MpathDisposition::default();
        let kind = match d {
            Disposition::Done { io, result } => {
                out.io = MpathIo::of(&io);
                if let Err(e) = result {
                    (out.io_error, out.target_error) = io_error_codes(e);
                    out.errno_code = errno::of_io_error(e);
                }
                MpathDispositionKind::Done.code()
            }
            Disposition::Dispatch(t) => {
                out.io = MpathIo::of(t.io());
                out.path = t.path().to_raw();
                slot.put(t);
                MpathDispositionKind::Dispatch.code()
            }
            Disposition::Queued => MpathDispositionKind::Queued.code(),
            Disposition::Busy(io) => {
                out.io = MpathIo::of(&io);
                MpathDispositionKind::Busy.code()
            }
            _ => MPATH_CODE_UNKNOWN,
        };
        out.kind = kind;
        out
    }
}

/// Something the embedder must do for the core ([`Action`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathAction {
    /// [`MpathActionKind`] code.
    pub kind: u32,
    /// `Dispatch`: the ticket's path; `Probe`: the path to probe;
    /// `RefreshAccessState`, `ActivateGroup`, `Reservation`: the path to
    /// send it on.
    pub path: u32,
    /// `ActivateGroup`, `TransitionTimedOut`: the group.
    pub group: u32,
    /// `Fail`: [`MpathIoError`] code.
    pub io_error: u32,
    /// `Fail` with a target error: its code.
    pub target_error: u32,
    /// `Fail`: the errno to complete the request with.
    pub errno_code: c_int,
    /// `Dispatch`, `Fail`: the I/O.
    pub io: MpathIo,
    /// `Reservation`: the command (`pr.via` is `path`).
    pub pr: MpathPrAction,
}

impl MpathAction {
    fn of(a: Action, slot: &mut MpathTicket) -> Self {
        let mut out = MpathAction::default();
        let kind = match a {
            Action::Dispatch(t) => {
                out.io = MpathIo::of(t.io());
                out.path = t.path().to_raw();
                slot.put(t);
                MpathActionKind::Dispatch
            }
            Action::Fail { io, error } => {
                out.io = MpathIo::of(&io);
                (out.io_error, out.target_error) = io_error_codes(error);
                out.errno_code = errno::of_io_error(error);
                MpathActionKind::Fail
            }
            Action::Probe(p) => {
                out.path = p.to_raw();
                MpathActionKind::Probe
            }
            Action::RefreshAccessState { via } => {
                out.path = via.to_raw();
                MpathActionKind::RefreshAccessState
            }
            Action::ActivateGroup { group, via } => {
                out.group = group.0;
                out.path = via.to_raw();
                MpathActionKind::ActivateGroup
            }
            Action::TransitionTimedOut { group } => {
                out.group = group.0;
                MpathActionKind::TransitionTimedOut
            }
            Action::HeadLive => MpathActionKind::HeadLive,
            Action::HeadRemoved => MpathActionKind::HeadRemoved,
            Action::Reservation(a) => {
                out.path = a.via.to_raw();
                out.pr = MpathPrAction::of(a);
                MpathActionKind::Reservation
            }
            _ => {
                out.kind = MPATH_CODE_UNKNOWN;
                return out;
            }
        };
        out.kind = kind.code();
        out
    }
}

/// Submit an I/O through the device (the slow path when
/// `mpath_dp_submit` found no path, or the only path for a single-threaded
/// embedder). A `Dispatch` puts the ticket in the empty slot `ticket`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_submit(
    dev: Option<&mut MpathDevice>,
    io: Option<&MpathIo>,
    now_ns: u64,
    out: Option<&mut MpathDisposition>,
    ticket: Option<&mut MpathTicket>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, out, slot) = (need(dev)?, need(out)?, need(ticket)?);
        let io: Io = need(io)?.decode()?;
        slot.check_empty()?;
        let d = dev
            .dev
            .submit(io, at(now_ns))
            .map_err(|r| errno::of_error(r.error))?;
        *out = MpathDisposition::of(d, slot);
        Ok(0)
    })())
}

/// Hand back a completion that was not a plain success on the data plane
/// (successes may come here too). Takes the ticket out of the slot; if
/// the I/O is dispatched again, its new ticket goes back into the same
/// slot. A path error takes the path down for the controller and the
/// reservation coordinator (which moves a reservation its nexus held);
/// reservation notices reach the coordinator. Refused (`-ERANGE`, time
/// going backwards; `-EINVAL`, an unknown code; `-EXDEV`, another
/// device's ticket): the ticket stays in the slot, nothing changed.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_completion(
    dev: Option<&mut MpathDevice>,
    ticket: Option<&mut MpathTicket>,
    completion: Option<&MpathCompletion>,
    now_ns: u64,
    out: Option<&mut MpathDisposition>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, slot, out) = (need(dev)?, need(ticket)?, need(out)?);
        let completion = need(completion)?.decode()?;
        let t = slot.take()?;
        match dev.dev.handle_completion(t, completion, at(now_ns)) {
            Ok(d) => {
                *out = MpathDisposition::of(d, slot);
                Ok(0)
            }
            Err(rejected) => {
                slot.put(rejected.item);
                Err(errno::of_error(rejected.error))
            }
        }
    })())
}

/// Cancel a held I/O by tag; the I/O goes to `*out_io`. `-ENOENT` if the
/// device holds no I/O with that tag.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_cancel(
    dev: Option<&mut MpathDevice>,
    tag: u64,
    now_ns: u64,
    out_io: Option<&mut MpathIo>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, out) = (need(dev)?, need(out_io)?);
        let io = dev
            .dev
            .cancel(IoTag(tag), at(now_ns))
            .map_err(errno::of_error)?;
        *out = MpathIo::of(&io);
        Ok(0)
    })())
}

/// The next thing to do: `1` and `*out` (a `Dispatch` puts its ticket in
/// the empty slot `ticket`), or `0` when there is nothing. Call until `0`
/// after every input. Controller actions come first, then reservation
/// commands (`Reservation`: send `pr` on `path`, answer with
/// `mpath_handle_reservation_reply`). Actions are computed from state, so
/// one not polled is not lost. `-EEXIST` (nothing taken) if `ticket`
/// holds a started I/O.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_poll_action(
    dev: Option<&mut MpathDevice>,
    out: Option<&mut MpathAction>,
    ticket: Option<&mut MpathTicket>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, out, slot) = (need(dev)?, need(out)?, need(ticket)?);
        slot.check_empty()?;
        match dev.dev.poll_action() {
            Some(a) => {
                *out = MpathAction::of(a, slot);
                Ok(found(true))
            }
            None => Ok(found(false)),
        }
    })())
}

/// The errno a block driver completes an I/O with for an
/// [`MpathIoError`] code (and, for `Target`, an
/// [`MpathTargetError`](crate::codes::MpathTargetError) code): `0` for `Ok`,
/// `-EINVAL` for a code outside the tables.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_io_error_errno(io_error: u32, target_error: u32) -> c_int {
    ret((|| -> Ret {
        let e = match MpathIoError::parse(io_error)? {
            MpathIoError::Ok => return Ok(0),
            MpathIoError::NoPath => IoError::NoPath,
            MpathIoError::HeadRemoved => IoError::HeadRemoved,
            MpathIoError::Target => {
                IoError::Target(crate::codes::MpathTargetError::parse(target_error)?.to_core())
            }
            MpathIoError::ReservationConflict => IoError::ReservationConflict,
            MpathIoError::RetriesExhausted => IoError::RetriesExhausted,
            MpathIoError::Fenced => IoError::Fenced,
            MpathIoError::Cancelled => IoError::Cancelled,
        };
        Err(errno::of_io_error(e))
    })())
}
