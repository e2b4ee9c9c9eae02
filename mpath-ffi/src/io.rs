//! The I/O at the boundary: its description, the ticket that proves it was
//! started, and the classified completion a transport hands back.

use crate::codes::{
    MpathIoError, MpathIoKind, MpathOutcome, MpathPathError, MpathRetryReason, MpathTargetError,
};
use crate::errno::{EEXIST, EINVAL, ENOENT};
use crate::{need, ret, Ret};
use core::ffi::c_int;
use core::mem::MaybeUninit;
use mpath_core::{Completion, Duration, Io, IoError, IoTag, Notices, Outcome, Ticket};

/// An I/O as the core sees it ([`Io`]): the embedder's tag, the direction,
/// the size and the same-path retry budget.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathIo {
    /// The embedder's tag (blk-mq tag, request pointer, sequence number).
    pub tag: u64,
    /// Payload bytes.
    pub bytes: u32,
    /// [`MpathIoKind`] code.
    pub kind: u32,
    /// Same-path retries left.
    pub retries: u8,
    /// Zero.
    pub reserved: [u8; 7],
}

impl MpathIo {
    /// The core's `Io`, or `-EINVAL` for an unknown kind.
    pub(crate) fn decode(&self) -> Result<Io, c_int> {
        Ok(Io {
            tag: IoTag(self.tag),
            kind: MpathIoKind::parse(self.kind)?.to_core(),
            bytes: self.bytes,
            retries: self.retries,
        })
    }

    pub(crate) fn of(io: &Io) -> Self {
        MpathIo {
            tag: io.tag.0,
            bytes: io.bytes,
            kind: MpathIoKind::of(io.kind),
            retries: io.retries,
            reserved: [0; 7],
        }
    }
}

/// Notice bits ([`Notices`]), as `MpathCompletion::notices` and
/// `mpath_handle_notices` take them. The values are the core's.
pub mod notice {
    use mpath_core::Notices;

    /// Access states may have changed: re-read them.
    pub const ACCESS_STATE_CHANGED: u32 = 1 << 0;
    /// Another host preempted our reservation.
    pub const RESERVATIONS_PREEMPTED: u32 = 1 << 1;
    /// The reservation was released.
    pub const RESERVATIONS_RELEASED: u32 = 1 << 2;
    /// Our registration was removed.
    pub const REGISTRATIONS_PREEMPTED: u32 = 1 << 3;
    /// Power on, reset or I_T nexus loss.
    pub const RESET_OCCURRED: u32 = 1 << 4;
    /// The set of logical units or namespaces changed.
    pub const LUNS_CHANGED: u32 = 1 << 5;
    /// Capacity or other parameters changed.
    pub const PARAMETERS_CHANGED: u32 = 1 << 6;
    /// The transport reported the path marginal.
    pub const PATH_MARGINAL: u32 = 1 << 7;

    // The values above are the core's bits; checked at compile time so a
    // renumbering in the core cannot silently change the ABI. (`as` widens
    // u16 to u32 losslessly; `From` cannot be called in a const.)
    #[allow(clippy::as_conversions)]
    const _: () = {
        assert!(ACCESS_STATE_CHANGED == Notices::ACCESS_STATE_CHANGED.bits() as u32);
        assert!(RESERVATIONS_PREEMPTED == Notices::RESERVATIONS_PREEMPTED.bits() as u32);
        assert!(RESERVATIONS_RELEASED == Notices::RESERVATIONS_RELEASED.bits() as u32);
        assert!(REGISTRATIONS_PREEMPTED == Notices::REGISTRATIONS_PREEMPTED.bits() as u32);
        assert!(RESET_OCCURRED == Notices::RESET_OCCURRED.bits() as u32);
        assert!(LUNS_CHANGED == Notices::LUNS_CHANGED.bits() as u32);
        assert!(PARAMETERS_CHANGED == Notices::PARAMETERS_CHANGED.bits() as u32);
        assert!(PATH_MARGINAL == Notices::PATH_MARGINAL.bits() as u32);
        assert!(Notices::all().bits() as u32 == (PATH_MARGINAL << 1) - 1);
    };
}

/// Notice bits from C: `-EINVAL` if any bit is not a known notice.
pub(crate) fn notices(bits: u32) -> Result<Notices, c_int> {
    u16::try_from(bits)
        .ok()
        .and_then(Notices::from_bits)
        .ok_or(-EINVAL)
}

/// A classified completion ([`Completion`]): what happened to the command
/// and the notices it carried.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathCompletion {
    /// [`MpathOutcome`] code.
    pub outcome: u32,
    /// For `PathError` an [`MpathPathError`], for `TargetError` an
    /// [`MpathTargetError`], for `Retry` an [`MpathRetryReason`] code;
    /// otherwise zero.
    pub detail: u32,
    /// For `Retry`: how long to wait first, in nanoseconds.
    pub delay_ns: u64,
    /// [`notice`] bits.
    pub notices: u32,
    /// Zero.
    pub reserved: u32,
}

impl MpathCompletion {
    /// The core's completion, or `-EINVAL` for an unknown code or bit.
    pub(crate) fn decode(&self) -> Result<Completion, c_int> {
        let outcome = match MpathOutcome::parse(self.outcome)? {
            MpathOutcome::Success => Outcome::Success,
            MpathOutcome::PathError => {
                Outcome::PathError(MpathPathError::parse(self.detail)?.to_core())
            }
            MpathOutcome::TargetError => {
                Outcome::TargetError(MpathTargetError::parse(self.detail)?.to_core())
            }
            MpathOutcome::ReservationConflict => Outcome::ReservationConflict,
            MpathOutcome::Retry => Outcome::Retry {
                reason: MpathRetryReason::parse(self.detail)?.to_core(),
                delay: Duration::from_nanos(self.delay_ns),
            },
        };
        Ok(Completion {
            outcome,
            notices: notices(self.notices)?,
        })
    }
}

/// An [`IoError`] as the pair C sees: the [`MpathIoError`] code and, for a
/// target error, the [`MpathTargetError`] code (otherwise zero).
pub(crate) fn io_error_codes(e: IoError) -> (u32, u32) {
    match e {
        IoError::NoPath => (MpathIoError::NoPath.code(), 0),
        IoError::HeadRemoved => (MpathIoError::HeadRemoved.code(), 0),
        IoError::Target(t) => (MpathIoError::Target.code(), MpathTargetError::of(t)),
        IoError::ReservationConflict => (MpathIoError::ReservationConflict.code(), 0),
        IoError::RetriesExhausted => (MpathIoError::RetriesExhausted.code(), 0),
        IoError::Fenced => (MpathIoError::Fenced.code(), 0),
        IoError::Cancelled => (MpathIoError::Cancelled.code(), 0),
        _ => (crate::codes::MPATH_CODE_UNKNOWN, 0),
    }
}

/// The slot a started I/O's [`Ticket`] lives in (opaque; keep it with the
/// request, e.g. in the blk-mq PDU).
///
/// A ticket is the proof that an I/O was started on a path and is consumed
/// exactly once, by a completion: exports that complete take it out of the
/// slot (which is empty afterwards) and exports that start an I/O put one
/// in, refusing with `-EEXIST` a slot that still holds one. A slot dropped
/// while it holds a ticket leaves the data plane's in-flight counters for
/// that path raised.
#[derive(Debug)]
pub struct MpathTicket {
    ticket: Option<Ticket>,
}

impl MpathTicket {
    /// `-EEXIST` unless the slot is empty: checked before anything changes,
    /// so a started I/O is never overwritten.
    pub(crate) fn check_empty(&self) -> Result<(), c_int> {
        match self.ticket {
            Some(_) => Err(-EEXIST),
            None => Ok(()),
        }
    }

    /// The ticket, leaving the slot empty; `-ENOENT` for an empty slot.
    pub(crate) fn take(&mut self) -> Result<Ticket, c_int> {
        self.ticket.take().ok_or(-ENOENT)
    }

    pub(crate) fn put(&mut self, ticket: Ticket) {
        self.ticket = Some(ticket);
    }
}

/// What a ticket records.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MpathTicketInfo {
    /// The I/O.
    pub io: MpathIo,
    /// The path it was started on.
    pub path: u32,
    /// The device (data plane) that issued it.
    pub device: u32,
    /// When it started, nanoseconds.
    pub started_ns: u64,
}

/// Make `mem` an empty ticket slot.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_ticket_init(
    mem: Option<&mut MaybeUninit<MpathTicket>>,
) -> Option<&mut MpathTicket> {
    Some(mem?.write(MpathTicket { ticket: None }))
}

/// `1` if the slot holds a started I/O, `0` if it is empty.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_ticket_is_live(ticket: Option<&MpathTicket>) -> c_int {
    ret(need(ticket).map(|t| crate::found(t.ticket.is_some())))
}

/// What the ticket in the slot records; `-ENOENT` for an empty slot.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_ticket_info(
    ticket: Option<&MpathTicket>,
    out: Option<&mut MpathTicketInfo>,
) -> c_int {
    ret((|| -> Ret {
        let t = need(ticket)?.ticket.as_ref().ok_or(-ENOENT)?;
        *need(out)? = MpathTicketInfo {
            io: MpathIo::of(t.io()),
            path: t.path().to_raw(),
            device: t.device().0,
            started_ns: t.started().as_nanos(),
        };
        Ok(0)
    })())
}

/// Move the ticket from `src` into the empty slot `dst` (`src` is empty
/// afterwards). Copying the bytes instead would leave two slots claiming
/// one I/O. `-ENOENT` if `src` is empty, `-EEXIST` if `dst` is not. `dst`
/// and `src` must be different slots.
#[allow(unsafe_code)]
#[no_mangle]
pub extern "C" fn mpath_ticket_move(
    dst: Option<&mut MpathTicket>,
    src: Option<&mut MpathTicket>,
) -> c_int {
    ret((|| -> Ret {
        let dst = need(dst)?;
        let src = need(src)?;
        dst.check_empty()?;
        dst.put(src.take()?);
        Ok(0)
    })())
}
