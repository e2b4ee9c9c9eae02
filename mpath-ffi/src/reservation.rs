//! The persistent-reservation coordinator at the boundary
//! ([`Coordinator<64>`](Coordinator)): path events, user operations and
//! replies in; PR commands (`mpath_pr_poll_action`) and events
//! (`mpath_pr_poll_event`) out. Feed its view to the device with
//! `mpath_apply_reservation` after every input. Serialise calls on one
//! coordinator.

use crate::codes::{
    MpathPrCommand, MpathPrEventKind, MpathPrOpKind, MpathPrReplyKind, MpathPrType, MpathRegState,
    MpathRegistrationScope,
};
use crate::dataplane::MPATH_MAX_PATHS;
use crate::errno::{self, ENOENT};
use crate::io::notices;
use crate::{flag, found, need, ret, u8_of, Ret};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use mpath_core::reservation::{Coordinator, PrAction, PrCommand, PrEvent, PrOp, PrReply, PrReport};
use mpath_core::PathId;

/// Keeps one logical persistent reservation correct over a changing set of
/// paths (opaque).
#[derive(Debug)]
pub struct MpathCoordinator {
    pub(crate) pr: Coordinator<MPATH_MAX_PATHS>,
}

/// A user operation ([`PrOp`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPrOp {
    /// [`MpathPrOpKind`] code.
    pub kind: u32,
    /// `Reserve`, `Preempt`: [`MpathPrType`] code.
    pub rtype: u32,
    /// `Register`: the key.
    pub key: u64,
    /// `Preempt`: the key to preempt.
    pub victim: u64,
    /// `Preempt`: 1 for PREEMPT AND ABORT.
    pub abort: u8,
    /// Zero.
    pub reserved: [u8; 7],
}

impl MpathPrOp {
    fn decode(&self) -> Result<PrOp, c_int> {
        let rtype = || MpathPrType::parse(self.rtype).map(MpathPrType::to_core);
        Ok(match MpathPrOpKind::parse(self.kind)? {
            MpathPrOpKind::Register => PrOp::Register(self.key),
            MpathPrOpKind::Unregister => PrOp::Unregister,
            MpathPrOpKind::Reserve => PrOp::Reserve(rtype()?),
            MpathPrOpKind::Release => PrOp::Release,
            MpathPrOpKind::Preempt => PrOp::Preempt {
                victim: self.victim,
                rtype: rtype()?,
                abort: flag(self.abort)?,
            },
            MpathPrOpKind::Clear => PrOp::Clear,
            MpathPrOpKind::ReadKeys => PrOp::ReadKeys,
            MpathPrOpKind::ReadReservation => PrOp::ReadReservation,
        })
    }

    fn of(op: PrOp) -> Self {
        let mut out = MpathPrOp::default();
        let kind = match op {
            PrOp::Register(key) => {
                out.key = key;
                MpathPrOpKind::Register
            }
            PrOp::Unregister => MpathPrOpKind::Unregister,
            PrOp::Reserve(t) => {
                out.rtype = MpathPrType::of(t);
                MpathPrOpKind::Reserve
            }
            PrOp::Release => MpathPrOpKind::Release,
            PrOp::Preempt {
                victim,
                rtype,
                abort,
            } => {
                out.victim = victim;
                out.rtype = MpathPrType::of(rtype);
                out.abort = u8_of(abort);
                MpathPrOpKind::Preempt
            }
            PrOp::Clear => MpathPrOpKind::Clear,
            PrOp::ReadKeys => MpathPrOpKind::ReadKeys,
            PrOp::ReadReservation => MpathPrOpKind::ReadReservation,
        };
        out.kind = kind.code();
        out
    }
}

/// One PR command to send on a path ([`PrAction`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPrAction {
    /// The path to send it on.
    pub via: u32,
    /// [`MpathPrCommand`] code.
    pub command: u32,
    /// Our key (`Register`: the new key).
    pub key: u64,
    /// `Preempt`: the key whose registrations are removed.
    pub victim: u64,
    /// `Reserve`, `Release`, `Preempt`: [`MpathPrType`] code.
    pub rtype: u32,
    /// `Preempt`: 1 for PREEMPT AND ABORT.
    pub abort: u8,
    /// Zero.
    pub reserved: [u8; 3],
}

impl MpathPrAction {
    pub(crate) fn of(a: PrAction) -> Self {
        let mut out = MpathPrAction {
            via: a.via.to_raw(),
            ..MpathPrAction::default()
        };
        let command = match a.command {
            PrCommand::Register { key } => {
                out.key = key;
                MpathPrCommand::Register
            }
            PrCommand::Unregister => MpathPrCommand::Unregister,
            PrCommand::ReadKeys => MpathPrCommand::ReadKeys,
            PrCommand::ReadReservation => MpathPrCommand::ReadReservation,
            PrCommand::Reserve { key, rtype } => {
                out.key = key;
                out.rtype = MpathPrType::of(rtype);
                MpathPrCommand::Reserve
            }
            PrCommand::Release { key, rtype } => {
                out.key = key;
                out.rtype = MpathPrType::of(rtype);
                MpathPrCommand::Release
            }
            PrCommand::Preempt {
                key,
                victim,
                rtype,
                abort,
            } => {
                out.key = key;
                out.victim = victim;
                out.rtype = MpathPrType::of(rtype);
                out.abort = u8_of(abort);
                MpathPrCommand::Preempt
            }
            PrCommand::Clear { key } => {
                out.key = key;
                MpathPrCommand::Clear
            }
        };
        out.command = command.code();
        out
    }
}

/// The transport's answer to a PR command ([`PrReply`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPrReply {
    /// [`MpathPrReplyKind`] code.
    pub kind: u32,
    /// `Keys`: registrations carrying our key.
    pub ours: u32,
    /// `Keys`: all registrations.
    pub total: u32,
    /// `Reservation`: [`MpathPrType`] code of the reservation, if any.
    pub rtype: u32,
    /// `Reservation`: the holder's key, if any.
    pub holder_key: u64,
    /// `Reservation`: 1 if a reservation is held (by anyone).
    pub has_reservation: u8,
    /// Zero.
    pub reserved: [u8; 7],
}

impl MpathPrReply {
    fn decode(&self) -> Result<PrReply, c_int> {
        Ok(match MpathPrReplyKind::parse(self.kind)? {
            MpathPrReplyKind::Done => PrReply::Done,
            MpathPrReplyKind::Keys => PrReply::Keys {
                ours: self.ours,
                total: self.total,
            },
            MpathPrReplyKind::Reservation => {
                PrReply::Reservation(match flag(self.has_reservation)? {
                    true => Some((self.holder_key, MpathPrType::parse(self.rtype)?.to_core())),
                    false => None,
                })
            }
            MpathPrReplyKind::Conflict => PrReply::Conflict,
            MpathPrReplyKind::PathFailed => PrReply::PathFailed,
            MpathPrReplyKind::Refused => PrReply::Refused,
        })
    }
}

/// The result of a finished operation ([`PrReport`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPrReport {
    /// Path slots whose nexus holds our key now (bit per slot).
    pub registered: u64,
    /// Path slots where registration failed (bit per slot).
    pub failed: u64,
    /// `ReadKeys`: registrations with our key.
    pub keys_ours: u32,
    /// `ReadKeys`: all registrations.
    pub keys_total: u32,
    /// `ReadReservation`: the holder's key.
    pub reservation_key: u64,
    /// `ReadReservation`: [`MpathPrType`] code.
    pub reservation_type: u32,
    /// 1 if `keys_*` are set (`ReadKeys`).
    pub has_keys: u8,
    /// 1 if `reservation_*` are set (a reservation was read).
    pub has_reservation: u8,
    /// Zero.
    pub reserved: [u8; 2],
}

impl MpathPrReport {
    fn of(r: &PrReport) -> Self {
        let PrReport {
            registered,
            failed,
            keys,
            reservation,
        } = *r;
        let (has_keys, (keys_ours, keys_total)) = match keys {
            Some(k) => (1, k),
            None => (0, (0, 0)),
        };
        let (has_reservation, (reservation_key, reservation_type)) = match reservation {
            Some((key, t)) => (1, (key, MpathPrType::of(t))),
            None => (0, (0, 0)),
        };
        MpathPrReport {
            registered,
            failed,
            keys_ours,
            keys_total,
            reservation_key,
            reservation_type,
            has_keys,
            has_reservation,
            reserved: [0; 2],
        }
    }
}

/// Something the embedder should know ([`PrEvent`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPrEvent {
    /// [`MpathPrEventKind`] code.
    pub kind: u32,
    /// `Finished`: 0, or the operation's negative errno (`errno` module:
    /// `-EAGAIN` busy, `-ENOLINK` no registered path, `-ENOKEY` no key,
    /// `-EBADE` conflict, `-EREMOTEIO` refused, `-EPERM` not the holder,
    /// `-EACCES` fenced).
    pub result: c_int,
    /// `Moved`: the path whose nexus holds the reservation now.
    pub holder: u32,
    /// Zero.
    pub reserved: u32,
    /// `Finished`: the operation.
    pub op: MpathPrOp,
    /// `Finished` without error: its report.
    pub report: MpathPrReport,
}

impl MpathPrEvent {
    fn of(e: PrEvent) -> Self {
        let mut out = MpathPrEvent::default();
        out.kind = match e {
            PrEvent::Finished { op, result } => {
                out.op = MpathPrOp::of(op);
                match result {
                    Ok(report) => out.report = MpathPrReport::of(&report),
                    Err(e) => out.result = errno::of_pr_error(e),
                }
                MpathPrEventKind::Finished.code()
            }
            PrEvent::Fenced => MpathPrEventKind::Fenced.code(),
            PrEvent::Moved { holder } => {
                out.holder = holder.to_raw();
                MpathPrEventKind::Moved.code()
            }
        };
        out
    }
}

fn path(raw: u32) -> PathId {
    PathId::from_raw(raw)
}

/// Run `f` on the coordinator (path events: they return nothing).
fn on_pr(
    pr: Option<&mut MpathCoordinator>,
    f: impl FnOnce(&mut Coordinator<MPATH_MAX_PATHS>),
) -> c_int {
    ret(need(pr).map(|pr| {
        f(&mut pr.pr);
        0
    }))
}

// ----- lifecycle and getters -----

/// Make `mem` a coordinator with no paths and no key, registering in
/// `scope` ([`MpathRegistrationScope`] code). Returns `mem` as the
/// coordinator, or `NULL` with `*err` (if not `NULL`) set to `-EFAULT` or
/// `-EINVAL`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_init<'a>(
    mem: Option<&'a mut MaybeUninit<MpathCoordinator>>,
    scope: u32,
    err: Option<&mut c_int>,
) -> Option<&'a mut MpathCoordinator> {
    let made = (|| -> Result<&'a mut MpathCoordinator, c_int> {
        let mem = need(mem)?;
        let scope = MpathRegistrationScope::parse(scope)?.to_core();
        Ok(mem.write(MpathCoordinator {
            pr: Coordinator::new(scope),
        }))
    })();
    match made {
        Ok(pr) => Some(pr),
        Err(e) => {
            if let Some(err) = err {
                *err = e;
            }
            None
        }
    }
}

/// The key this host registers: `1` and `*out`, or `0` for none.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_key(pr: Option<&MpathCoordinator>, out: Option<&mut u64>) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        match need(pr)?.pr.key() {
            Some(k) => {
                *out = k;
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// The reservation type held: `1` and `*out` ([`MpathPrType`] code), or `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_reservation(
    pr: Option<&MpathCoordinator>,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        match need(pr)?.pr.reservation() {
            Some(t) => {
                *out = MpathPrType::of(t);
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// The path whose nexus holds a single-holder reservation: `1` and `*out`,
/// or `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_holder(pr: Option<&MpathCoordinator>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        match need(pr)?.pr.holder() {
            Some(p) => {
                *out = p.to_raw();
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// `1` if another host preempted us.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_is_fenced(pr: Option<&MpathCoordinator>) -> c_int {
    ret(need(pr).map(|p| found(p.pr.is_fenced())))
}

/// `1` while I/O must be held (the reservation is being moved).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_is_quiesced(pr: Option<&MpathCoordinator>) -> c_int {
    ret(need(pr).map(|p| found(p.pr.is_quiesced())))
}

/// `1` if the PR gate is closed to unregistered paths.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_key_active(pr: Option<&MpathCoordinator>) -> c_int {
    ret(need(pr).map(|p| found(p.pr.key_active())))
}

/// `1` if `path` may carry I/O as far as reservations go.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_admitted(pr: Option<&MpathCoordinator>, path_id: u32) -> c_int {
    ret(need(pr).map(|p| found(p.pr.admitted(path(path_id)))))
}

/// `1` if the coordinator counts the path as able to carry its commands,
/// `0` if not; `-ENOENT` for a path it does not have.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_is_up(pr: Option<&MpathCoordinator>, path_id: u32) -> c_int {
    ret((|| -> Ret {
        let up = need(pr)?.pr.is_up(path(path_id)).ok_or(-ENOENT)?;
        Ok(found(up))
    })())
}

/// `1` if a command handed out on `via` awaits its reply.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_awaiting_reply(pr: Option<&MpathCoordinator>, via: u32) -> c_int {
    ret(need(pr).map(|p| found(p.pr.awaiting_reply(path(via)))))
}

/// A path's registration state ([`MpathRegState`] code); `-ENOENT` for a
/// path the coordinator does not have.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_state(
    pr: Option<&MpathCoordinator>,
    path_id: u32,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        let s = need(pr)?.pr.state(path(path_id)).ok_or(-ENOENT)?;
        *out = MpathRegState::of(s);
        Ok(0)
    })())
}

// ----- path events -----

/// A new path over initiator port (or host) `port`; `up` 1 if it answers.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_path_added(
    pr: Option<&mut MpathCoordinator>,
    path_id: u32,
    port: u32,
    up: u8,
) -> c_int {
    ret((|| -> Ret {
        let (pr, up) = (need(pr)?, flag(up)?);
        pr.pr.path_added(path(path_id), port, up);
        Ok(0)
    })())
}

/// A path went away.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_path_removed(pr: Option<&mut MpathCoordinator>, path_id: u32) -> c_int {
    on_pr(pr, |c| c.path_removed(path(path_id)))
}

/// A path is down.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_path_down(pr: Option<&mut MpathCoordinator>, path_id: u32) -> c_int {
    on_pr(pr, |c| c.path_down(path(path_id)))
}

/// A path is back.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_path_up(pr: Option<&mut MpathCoordinator>, path_id: u32) -> c_int {
    on_pr(pr, |c| c.path_up(path(path_id)))
}

/// The path reaches the logical unit through a new I_T nexus on `port`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_nexus_replaced(
    pr: Option<&mut MpathCoordinator>,
    path_id: u32,
    port: u32,
) -> c_int {
    on_pr(pr, |c| c.nexus_replaced(path(path_id), port))
}

/// Notices from completions or asynchronous events on a path
/// ([`notice`](crate::io::notice) bits; an unknown bit is `-EINVAL`).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_handle_notices(
    pr: Option<&mut MpathCoordinator>,
    path_id: u32,
    notice_bits: u32,
) -> c_int {
    ret((|| -> Ret {
        let (pr, n) = (need(pr)?, notices(notice_bits)?);
        pr.pr.handle_notices(path(path_id), n);
        Ok(0)
    })())
}

// ----- operations, outputs, replies -----

/// Start an operation; its result comes as a `Finished` event. `-EAGAIN`
/// while another runs or its result is unpolled.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_submit(
    pr: Option<&mut MpathCoordinator>,
    op: Option<&MpathPrOp>,
) -> c_int {
    ret((|| -> Ret {
        let (pr, op) = (need(pr)?, need(op)?.decode()?);
        pr.pr.submit(op).map_err(errno::of_pr_error)?;
        Ok(0)
    })())
}

/// The next PR command to send: `1` and `*out`, or `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_poll_action(
    pr: Option<&mut MpathCoordinator>,
    out: Option<&mut MpathPrAction>,
) -> c_int {
    ret((|| -> Ret {
        let (pr, out) = (need(pr)?, need(out)?);
        match pr.pr.poll_action() {
            Some(a) => {
                *out = MpathPrAction::of(a);
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// The next event: `1` and `*out`, or `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_poll_event(
    pr: Option<&mut MpathCoordinator>,
    out: Option<&mut MpathPrEvent>,
) -> c_int {
    ret((|| -> Ret {
        let (pr, out) = (need(pr)?, need(out)?);
        match pr.pr.poll_event() {
            Some(e) => {
                *out = MpathPrEvent::of(e);
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// The answer to the command last handed out on `via`: `1` if taken, `0`
/// if ignored (no command in flight there).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_reply(
    pr: Option<&mut MpathCoordinator>,
    via: u32,
    reply: Option<&MpathPrReply>,
) -> c_int {
    ret((|| -> Ret {
        let (pr, reply) = (need(pr)?, need(reply)?.decode()?);
        Ok(found(pr.pr.reply(path(via), reply)))
    })())
}
