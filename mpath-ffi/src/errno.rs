//! Errno mapping: the core's typed errors as the negative errno values the
//! exports return, and I/O errors as the errno a block driver turns into a
//! `blk_status_t` (`errno_to_blk_status`).
//!
//! The numbers are Linux's generic ones (`asm-generic/errno*.h`), the same
//! on x86, arm, arm64, riscv and the other architectures that use them;
//! alpha, mips, parisc and sparc number some differently and would need
//! their own table. The core stays free of errno: the mapping is kernel
//! glue (STYLE.md).
//!
//! | errno | export refused because |
//! |---|---|
//! | `-EFAULT` | a required pointer was `NULL` |
//! | `-EINVAL` | a code outside its table, a flag not 0/1, an unknown path, an invalid configuration, reservation key 0, a destination TransportID empty or longer than 256 bytes |
//! | `-ESTALE` | the path was removed (its slot may hold another path now) |
//! | `-ENOENT` | unknown group, no held I/O with that tag, an empty ticket slot |
//! | `-EEXIST` | a path over that nexus exists; an output ticket slot already holds a started I/O |
//! | `-ENOSPC` | the path or group table is full |
//! | `-ERANGE` | `now` is earlier than a time already seen |
//! | `-EXDEV` | the ticket was issued by another device's data plane; the cursor serves another data plane |
//! | `-EPROTO` | a result for a command that is not pending (a refresh, an activation, a reservation command) |
//! | `-ENODEV` | the multipath head was removed |
//! | `-EAGAIN` | another reservation operation runs (or its result is unpolled) |
//! | `-ENOLINK` | no registered path to send a reservation command on |
//! | `-ENOKEY` | no reservation key registered |
//! | `-EBADE` | reservation conflict |
//! | `-EREMOTEIO` | the target refused the reservation command |
//! | `-EPERM` | release or REGISTER AND MOVE of a reservation this host does not hold |
//! | `-EACCES` | fenced by another host's preemption |
//! | `-EIO` | an error this library predates |
//!
//! The transport adapters' errors (`mpath_scsi_*`, `mpath_nvme_*`) map by
//! what went wrong, the same for both transports ([`of_scsi_adapter_error`],
//! [`of_nvme_adapter_error`]):
//!
//! | errno | adapter error |
//! |---|---|
//! | the core's, as above | the device refused the input the adapter made |
//! | `-EBADMSG` | response data, INQUIRY / VPD or Identify data malformed (field and offset in the Rust error), or silent on this device's group or namespace |
//! | `-EINVAL` | identity data that names no logical unit, a spec's group not the identity's, a registration scope the transport does not have |
//! | `-ESTALE` | the adapter has no record of the path (removed) |
//! | `-EXDEV` | the path reaches another logical unit or namespace |
//! | `-ENOSPC` | the adapter's path table, or its table of commands awaiting a response, is full; an NVMe ANA log longer than `MPATH_DATA_IN_MAX` |
//! | `-ENOENT` | no path of the device is in that group; a REGISTER AND MOVE without its destination |
//! | `-EOPNOTSUPP` | no ALUA / ANA to read, no explicit activation, REGISTER AND MOVE on NVMe |
//! | `-EMSGSIZE` | more data came back than the command allowed |
//! | `-E2BIG` | the target has more to say than one command can ask for |
//! | `-ENOLINK`, `-EREMOTEIO`, `-EBADE`, `-EAGAIN`, ... | the command failed: path error, target error (as [`of_target_error`]), reservation conflict, retry |
//! | `-EPROTO` | a response for no command awaiting one (an unknown tag), or handed to the wrong entry point |
//!
//! A device's reservation operation (`mpath_reservation`) fails with a
//! [`DeviceError`]: the device's own refusal maps as any other input's
//! ([`of_error`]), the coordinator's as [`of_pr_error`]; the two sets do
//! not overlap except in `-EIO`.

use core::ffi::c_int;
use mpath_core::reservation::PrError;
use mpath_core::{ConfigError, DeviceError, Error, IoError, Outcome, TargetError, TimeError};

/// Operation not permitted.
pub const EPERM: c_int = 1;
/// No such entry.
pub const ENOENT: c_int = 2;
/// I/O error.
pub const EIO: c_int = 5;
/// Argument list too long (a response larger than a command can ask for).
pub const E2BIG: c_int = 7;
/// Try again.
pub const EAGAIN: c_int = 11;
/// Permission denied.
pub const EACCES: c_int = 13;
/// Bad address (a `NULL` pointer).
pub const EFAULT: c_int = 14;
/// Exists.
pub const EEXIST: c_int = 17;
/// Cross-device link (a ticket from another device).
pub const EXDEV: c_int = 18;
/// No such device.
pub const ENODEV: c_int = 19;
/// Invalid argument.
pub const EINVAL: c_int = 22;
/// No space left.
pub const ENOSPC: c_int = 28;
/// Result out of range (time going backwards).
pub const ERANGE: c_int = 34;
/// Invalid exchange (`BLK_STS_RESV_CONFLICT`).
pub const EBADE: c_int = 52;
/// No data (`BLK_STS_MEDIUM`).
pub const ENODATA: c_int = 61;
/// Link severed (`BLK_STS_TRANSPORT`).
pub const ENOLINK: c_int = 67;
/// Protocol error.
pub const EPROTO: c_int = 71;
/// Not a data message (malformed response data).
pub const EBADMSG: c_int = 74;
/// Illegal byte sequence (`BLK_STS_PROTECTION`).
pub const EILSEQ: c_int = 84;
/// Message too long (more data than was allowed).
pub const EMSGSIZE: c_int = 90;
/// Operation not supported (by this logical unit or transport).
pub const EOPNOTSUPP: c_int = 95;
/// Stale handle.
pub const ESTALE: c_int = 116;
/// Remote I/O error (`BLK_STS_TARGET`).
pub const EREMOTEIO: c_int = 121;
/// Cancelled.
pub const ECANCELED: c_int = 125;
/// Required key not available.
pub const ENOKEY: c_int = 126;

/// A controller or data-plane error as a negative errno.
pub fn of_error(e: Error) -> c_int {
    match e {
        Error::Time(t) => of_time(t),
        Error::UnknownPath(_) => -EINVAL,
        Error::StalePath(_) => -ESTALE,
        Error::DuplicateNexus(_) => -EEXIST,
        Error::PathTableFull | Error::GroupTableFull => -ENOSPC,
        Error::UnknownGroup(_) | Error::UnknownIo(_) => -ENOENT,
        Error::ForeignTicket { .. } => -EXDEV,
        Error::NotPending { .. } => -EPROTO,
        Error::Config(c) => of_config(c),
        Error::HeadRemoved => -ENODEV,
        _ => -EIO,
    }
}

/// A time error as a negative errno.
pub fn of_time(e: TimeError) -> c_int {
    match e {
        TimeError::WentBackwards { .. } => -ERANGE,
        _ => -EIO,
    }
}

/// A configuration error as a negative errno.
pub fn of_config(_e: ConfigError) -> c_int {
    -EINVAL
}

/// A reservation-operation error as a negative errno (distinct per
/// variant, so C can tell them apart by errno alone, but for the two kinds
/// of bad input, key 0 and a bad TransportID: `-EINVAL`).
pub fn of_pr_error(e: PrError) -> c_int {
    match e {
        PrError::Busy => -EAGAIN,
        PrError::NoPath => -ENOLINK,
        PrError::NotRegistered => -ENOKEY,
        PrError::Conflict => -EBADE,
        PrError::Refused => -EREMOTEIO,
        PrError::NotHolder => -EPERM,
        PrError::Fenced => -EACCES,
        PrError::ZeroKey | PrError::BadTransportId => -EINVAL,
        _ => -EIO,
    }
}

/// A device's refusal of a reservation operation as a negative errno: the
/// device's (time going backwards, removed head) as [`of_error`], the
/// coordinator's as [`of_pr_error`].
pub fn of_device_error(e: DeviceError) -> c_int {
    match e {
        DeviceError::Device(e) => of_error(e),
        DeviceError::Reservation(e) => of_pr_error(e),
        _ => -EIO,
    }
}

/// The errno a block driver completes an I/O with, by the kernel's
/// `blk_status_t` mapping: no path is `BLK_STS_IOERR` (as dm-multipath and
/// NVMe multipath end I/O with no path), a conflict or a fence
/// `BLK_STS_RESV_CONFLICT`, target errors by kind. Not one-to-one: the
/// [`MpathIoError`](crate::codes::MpathIoError) code says exactly why.
pub fn of_io_error(e: IoError) -> c_int {
    match e {
        IoError::NoPath | IoError::RetriesExhausted => -EIO,
        IoError::HeadRemoved => -ENODEV,
        IoError::Target(t) => of_target_error(t),
        IoError::ReservationConflict | IoError::Fenced => -EBADE,
        IoError::Cancelled => -ECANCELED,
        _ => -EIO,
    }
}

/// A target error as the errno of its `blk_status_t`.
pub fn of_target_error(e: TargetError) -> c_int {
    match e {
        TargetError::Medium => -ENODATA,
        TargetError::IllegalRequest | TargetError::DataProtect => -EREMOTEIO,
        TargetError::NoSpace => -ENOSPC,
        TargetError::Protection => -EILSEQ,
        _ => -EIO,
    }
}

/// How a command the adapter sent ended, as the errno of a failed
/// command: a path error `-ENOLINK` (another path may do), a target error
/// as its `blk_status_t` ([`of_target_error`]), a reservation conflict
/// `-EBADE`, a retry the same path asked for `-EAGAIN`.
pub fn of_outcome(o: Outcome) -> c_int {
    match o {
        Outcome::PathError(_) => -ENOLINK,
        Outcome::TargetError(t) => of_target_error(t),
        Outcome::ReservationConflict => -EBADE,
        Outcome::Retry { .. } => -EAGAIN,
        _ => -EIO,
    }
}

/// A SCSI adapter error as a negative errno (see the table above).
pub fn of_scsi_adapter_error(e: mpath_scsi::AdapterError) -> c_int {
    use mpath_scsi::identity::IdentityError;
    use mpath_scsi::AdapterError as A;
    match e {
        A::Core(e) => of_error(e),
        A::Wire(_) | A::GroupNotInRtpg { .. } => -EBADMSG,
        A::Identity(IdentityError::Wire { .. }) => -EBADMSG,
        A::Identity(_) | A::GroupMismatch { .. } | A::RegistrationScope(_) => -EINVAL,
        A::UnknownPath(_) => -ESTALE,
        A::WrongLogicalUnit => -EXDEV,
        A::PathTableFull => -ENOSPC,
        A::UnknownGroup(_) | A::NoMoveDestination => -ENOENT,
        A::NotAlua(_) | A::ExplicitAluaUnsupported { .. } => -EOPNOTSUPP,
        A::CommandFailed { outcome, .. } => of_outcome(outcome),
        A::UnexpectedData { .. } => -EMSGSIZE,
        A::RtpgTooLarge { .. } | A::PrInTooLarge { .. } => -E2BIG,
        A::WrongEntry { .. } => -EPROTO,
        _ => -EIO,
    }
}

/// An NVMe adapter error as a negative errno (see the table above).
pub fn of_nvme_adapter_error(e: mpath_nvme::AdapterError) -> c_int {
    use mpath_nvme::AdapterError as A;
    match e {
        A::Core(e) => of_error(e),
        A::Wire(_) | A::NsidNotInLog { .. } | A::GroupNotInLog { .. } => -EBADMSG,
        // Identify data without a SUBNQN, or NSID 0 / FFFFFFFFh.
        A::Identity(_) => -EINVAL,
        A::UnknownPath(_) => -ESTALE,
        A::WrongHead => -EXDEV,
        A::PathTableFull => -ENOSPC,
        A::UnknownGroup(_) => -ENOENT,
        A::NoAnaReporting(_) | A::ActivationUnsupported { .. } | A::Unsupported { .. } => {
            -EOPNOTSUPP
        }
        A::AnaLogTooLarge { .. } => -E2BIG,
        A::CommandFailed { outcome, .. } => of_outcome(outcome),
        A::UnexpectedData { .. } => -EMSGSIZE,
        A::WrongEntry { .. } => -EPROTO,
        _ => -EIO,
    }
}
