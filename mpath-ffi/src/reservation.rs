//! Persistent reservations on the device: operations in
//! (`mpath_reservation`; REGISTER AND MOVE, which carries a TransportID,
//! `mpath_reservation_move_to`), the commands the device asks for (an
//! [`MpathAction`](crate::control_io::MpathAction) of kind `Reservation`,
//! from `mpath_poll_action`) answered with `mpath_handle_reservation_reply`,
//! results and moves out as events (`mpath_poll_event`), and the
//! coordinator's view (`mpath_pr_*` getters).
//!
//! The coordinator lives inside the device: paths added, removed, failed
//! or brought back, nexus replacements and reservation notices reach it
//! from the device's own inputs, and its view closes the controller's
//! admission gate. Nothing needs copying between the two halves.

use crate::codes::{
    MpathPrCommand, MpathPrEventKind, MpathPrOpKind, MpathPrReplyKind, MpathPrType, MpathRegState,
};
use crate::device::{at, path, MpathDevice};
use crate::errno::{self, ENOENT};
use crate::{flag, found, need, ret, u8_of, Ret};
use core::ffi::c_int;
use mpath_core::reservation::{PrAction, PrCommand, PrEvent, PrOp, PrReply, PrReport};

#[path = "reservation_move.rs"]
mod register_move;
pub use register_move::{
    mpath_pr_move_destination, mpath_reservation_move_to, MpathPrDestination,
    MPATH_TRANSPORT_ID_MAX,
};

/// A user operation ([`PrOp`]).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPrOp {
    /// [`MpathPrOpKind`] code.
    pub kind: u32,
    /// `Reserve`, `Preempt`: [`MpathPrType`] code.
    pub rtype: u32,
    /// `Register`: the key; `RegisterAndMove`: the key the destination is
    /// registered with.
    pub key: u64,
    /// `Preempt`: the key to preempt.
    pub victim: u64,
    /// `Preempt`: 1 for PREEMPT AND ABORT.
    pub abort: u8,
    /// Zero.
    pub reserved: u8,
    /// `RegisterAndMove`: the destination's relative target port.
    pub relative_target_port: u16,
    /// Zero.
    pub reserved2: [u8; 4],
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
            // The TransportID does not fit an operation:
            // `mpath_reservation_move_to` takes it.
            MpathPrOpKind::RegisterAndMove => return Err(-errno::EINVAL),
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
            PrOp::RegisterAndMove {
                dest_key,
                relative_target_port,
            } => {
                out.key = dest_key;
                out.relative_target_port = relative_target_port;
                MpathPrOpKind::RegisterAndMove
            }
        };
        out.kind = kind.code();
        out
    }
}

/// One PR command to send on a path ([`PrAction`]): the `pr` of an
/// [`MpathAction`](crate::control_io::MpathAction) of kind `Reservation`.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathPrAction {
    /// The path to send it on.
    pub via: u32,
    /// [`MpathPrCommand`] code.
    pub command: u32,
    /// Our key (`Register`: the new key).
    pub key: u64,
    /// `Preempt`: the key whose registrations are removed;
    /// `RegisterAndMove`: the key the destination is registered with (both
    /// the SERVICE ACTION RESERVATION KEY).
    pub victim: u64,
    /// `Reserve`, `Release`, `Preempt`, `RegisterAndMove`: [`MpathPrType`]
    /// code.
    pub rtype: u32,
    /// `Preempt`: 1 for PREEMPT AND ABORT.
    pub abort: u8,
    /// Zero.
    pub reserved: u8,
    /// `RegisterAndMove`: the destination's relative target port (its
    /// TransportID: `mpath_pr_move_destination`).
    pub relative_target_port: u16,
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
            PrCommand::RegisterAndMove {
                key,
                dest_key,
                rtype,
                relative_target_port,
            } => {
                out.key = key;
                out.victim = dest_key;
                out.rtype = MpathPrType::of(rtype);
                out.relative_target_port = relative_target_port;
                MpathPrCommand::RegisterAndMove
            }
        };
        out.command = command.code();
        out
    }
}

/// The transport's answer to a PR command ([`PrReply`]), for
/// `mpath_handle_reservation_reply`.
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
    /// `Keys`: whether the nexus the command went through holds one of
    /// our registrations, as READ FULL STATUS shows it: 0 not known (READ
    /// KEYS, or NVMe), 1 it does not, 2 it does.
    pub here: u8,
    /// Zero.
    pub reserved: [u8; 6],
}

impl MpathPrReply {
    fn decode(&self) -> Result<PrReply, c_int> {
        Ok(match MpathPrReplyKind::parse(self.kind)? {
            MpathPrReplyKind::Done => PrReply::Done,
            MpathPrReplyKind::Keys => PrReply::Keys {
                ours: self.ours,
                total: self.total,
                here: match self.here {
                    0 => None,
                    1 => Some(false),
                    2 => Some(true),
                    _ => return Err(-errno::EINVAL),
                },
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

/// Something the reservation coordinator reports ([`PrEvent`]): the `pr`
/// of an [`MpathEvent`](crate::events::MpathEvent) of kind `Reservation`.
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
    pub(crate) fn of(e: PrEvent) -> Self {
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

// ----- operation and replies -----

/// Start a persistent-reservation operation; its result comes as an
/// event of kind `Reservation` (`pr.kind` `Finished`). The time is checked
/// like any input's (`-ERANGE`). Refused by the coordinator, the operation
/// did not start: `-EAGAIN` while another runs or its result is unpolled,
/// `-ENOKEY` with no key registered, `-EACCES` fenced (the `errno` module
/// lists them). The device acts on deadlines up to `now_ns` first, as
/// `mpath_handle_timeout` would, so a refused operation leaves the device
/// as that call would.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_reservation(
    dev: Option<&mut MpathDevice>,
    op: Option<&MpathPrOp>,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let (dev, op) = (need(dev)?, need(op)?.decode()?);
        let now = at(now_ns);
        // The core's `Device::reservation` runs the timers, then asks the
        // coordinator, and on a refusal returns before telling the
        // coordinator what the timers changed (a probe that timed out).
        // Running them through the full input first keeps both halves in
        // step whatever the coordinator answers; the second run is a no-op.
        dev.dev.handle_timeout(now).map_err(errno::of_error)?;
        dev.dev
            .reservation(op, now)
            .map_err(errno::of_device_error)?;
        Ok(0)
    })())
}

/// The answer to the reservation command the device sent on `via` (an
/// action of kind `Reservation`). `PathFailed` takes the path down for the
/// controller too. `-EPROTO` if no command is awaiting its answer on `via`;
/// `-EINVAL` for a code outside its table; nothing changed on a refusal.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_handle_reservation_reply(
    dev: Option<&mut MpathDevice>,
    via: u32,
    reply: Option<&MpathPrReply>,
    now_ns: u64,
) -> c_int {
    ret((|| -> Ret {
        let (dev, reply) = (need(dev)?, need(reply)?.decode()?);
        dev.dev
            .handle_reservation_reply(path(via), reply, at(now_ns))
            .map_err(errno::of_error)?;
        Ok(0)
    })())
}

// ----- the coordinator's view -----

/// `Ok` if `path_id` is a present path of the device (`-EINVAL` unknown,
/// `-ESTALE` removed), so the per-path getters below refuse what the
/// device's inputs refuse.
fn present(dev: &MpathDevice, path_id: u32) -> Result<(), c_int> {
    dev.dev
        .tier(path(path_id))
        .map(|_| ())
        .map_err(errno::of_error)
}

/// The key this host registers: `1` and `*out`, or `0` for none.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_key(dev: Option<&MpathDevice>, out: Option<&mut u64>) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        match need(dev)?.dev.coordinator().key() {
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
pub extern "C" fn mpath_pr_reservation(dev: Option<&MpathDevice>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        match need(dev)?.dev.coordinator().reservation() {
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
pub extern "C" fn mpath_pr_holder(dev: Option<&MpathDevice>, out: Option<&mut u32>) -> c_int {
    ret((|| -> Ret {
        let out = need(out)?;
        match need(dev)?.dev.coordinator().holder() {
            Some(p) => {
                *out = p.to_raw();
                Ok(1)
            }
            None => Ok(0),
        }
    })())
}

/// `1` if another host preempted us (I/O fails until the user acts).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_is_fenced(dev: Option<&MpathDevice>) -> c_int {
    ret(need(dev).map(|d| found(d.dev.coordinator().is_fenced())))
}

/// `1` while I/O is held because the reservation is being moved.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_is_quiesced(dev: Option<&MpathDevice>) -> c_int {
    ret(need(dev).map(|d| found(d.dev.coordinator().is_quiesced())))
}

/// `1` if the reservation gate is closed to unregistered paths (a key is
/// set, or the device is fenced).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_key_active(dev: Option<&MpathDevice>) -> c_int {
    ret(need(dev).map(|d| found(d.dev.coordinator().key_active())))
}

/// `1` if the path may carry I/O as far as reservations go, else `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_admitted(dev: Option<&MpathDevice>, path_id: u32) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        present(dev, path_id)?;
        Ok(found(dev.dev.coordinator().admitted(path(path_id))))
    })())
}

/// `1` if the coordinator counts the path as able to carry its commands
/// (up and not failed by hand, as the controller sees it), else `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_is_up(dev: Option<&MpathDevice>, path_id: u32) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        present(dev, path_id)?;
        let up = dev.dev.coordinator().is_up(path(path_id)).ok_or(-ENOENT)?;
        Ok(found(up))
    })())
}

/// `1` if a reservation command sent on `via` awaits its answer, else `0`.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_awaiting_reply(dev: Option<&MpathDevice>, via: u32) -> c_int {
    ret((|| -> Ret {
        let dev = need(dev)?;
        present(dev, via)?;
        Ok(found(dev.dev.coordinator().awaiting_reply(path(via))))
    })())
}

/// A path's registration state ([`MpathRegState`] code).
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_pr_state(
    dev: Option<&MpathDevice>,
    path_id: u32,
    out: Option<&mut u32>,
) -> c_int {
    ret((|| -> Ret {
        let (dev, out) = (need(dev)?, need(out)?);
        present(dev, path_id)?;
        let s = dev.dev.coordinator().state(path(path_id)).ok_or(-ENOENT)?;
        *out = MpathRegState::of(s);
        Ok(0)
    })())
}

#[cfg(test)]
mod reply_tests {
    use super::*;

    #[test]
    fn here_codes_map_to_the_core_and_others_are_refused() {
        let keys = |here| MpathPrReply {
            kind: MpathPrReplyKind::Keys.code(),
            ours: 2,
            total: 3,
            here,
            ..MpathPrReply::default()
        };
        for (code, here) in [(0, None), (1, Some(false)), (2, Some(true))] {
            assert_eq!(
                keys(code).decode(),
                Ok(PrReply::Keys {
                    ours: 2,
                    total: 3,
                    here
                })
            );
        }
        for code in [3, 0x80, 0xff] {
            assert_eq!(keys(code).decode(), Err(-errno::EINVAL));
        }
    }
}
