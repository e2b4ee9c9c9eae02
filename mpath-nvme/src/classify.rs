//! Completion classification: NVMe status and transport outcomes to
//! [`mpath_core::outcome::Completion`], the way Linux NVMe native multipath
//! decides (`nvme_decide_disposition()`, `nvme_is_path_error()`,
//! `nvme_failover_req()`, `nvme_error_status()` in drivers/nvme/host) and
//! dm-multipath's `blk_path_error()` judges block statuses.
//!
//! The whole mapping is the one table [`RULES`]; every row says where it comes
//! from. The first row whose [`Cause`] matches wins, so wildcard rows come last.
//!
//! How a row's [`Disposition`] becomes an [`Outcome`]:
//! - [`Disposition::Path`]: always a path error, whatever DNR says. Path
//!   Related Status (Base 2.0, Path Related Status) describes the path, not the
//!   command, so another path may succeed; dm-multipath's `blk_path_error()`
//!   fails over on such errors the same way. (Linux native multipath checks
//!   DNR first and completes the command with an error; controllers do not
//!   set DNR on ANA errors in practice, and Linux's own host path errors never
//!   carry it.)
//! - [`Disposition::Conflict`]: always [`Outcome::ReservationConflict`]; a
//!   conflict is never a path error (it would be the same on every path of
//!   this host) and never retried blindly.
//! - [`Disposition::Target`]: with DNR set, the row's target error. With DNR
//!   clear, a retry on the same path after the Command Retry Delay, as Linux
//!   `nvme_decide_disposition()` returns RETRY for any non-path status without
//!   DNR (the core bounds the retries).
//! - [`Disposition::Success`]: success, flags ignored.

use mpath_core::outcome::{Completion, Notices, Outcome, PathErrorKind, RetryReason, TargetError};
use mpath_core::time::Duration;

use crate::identify::Crdt;
use crate::status::{sct, Status, StatusCode};

/// How a command reached its end, as the transport driver saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Delivery {
    /// A completion queue entry arrived with this status.
    Completed(Status),
    /// No completion within the I/O timeout; the command may still be in
    /// flight at the controller.
    Timeout,
    /// The transport connection (fabrics queue pair, PCIe link) was lost
    /// before the completion arrived.
    ConnectionLost,
    /// The controller was reset (or the queue deleted) and the command
    /// cancelled by the host driver.
    ControllerReset,
}

/// What a row of [`RULES`] matches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cause {
    /// Exactly this status code (flags ignored).
    Code(StatusCode),
    /// Any status code of this Status Code Type.
    AnyOfType(u8),
    /// Any status code at all.
    AnyCode,
    /// [`Delivery::Timeout`].
    Timeout,
    /// [`Delivery::ConnectionLost`].
    ConnectionLost,
    /// [`Delivery::ControllerReset`].
    ControllerReset,
}

/// What a row of [`RULES`] decides; see the module documentation for how DNR
/// and CRD apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Disposition {
    /// The command succeeded.
    Success,
    /// Fail over to another path.
    Path(PathErrorKind),
    /// Reservation conflict.
    Conflict,
    /// Report this error if DNR is set, else retry after CRD.
    Target(TargetError),
}

/// One row of the classification table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// What the row matches.
    pub cause: Cause,
    /// What it decides.
    pub disposition: Disposition,
    /// Notices the completion carries besides its outcome.
    pub notices: Notices,
    /// Where the row comes from: spec section and kernel function.
    pub source: &'static str,
}

const fn row(code: StatusCode, disposition: Disposition, source: &'static str) -> Rule {
    Rule {
        cause: Cause::Code(code),
        disposition,
        notices: Notices::empty(),
        source,
    }
}

const fn notice(rule: Rule, notices: Notices) -> Rule {
    Rule { notices, ..rule }
}

use Disposition::{Conflict, Path, Target};
use PathErrorKind as P;
use TargetError as T;

const GENERIC: &str = "Base 2.0, Generic Command Status";
const CMD: &str = "Base 2.0, Command Specific Status";
const MEDIA: &str = "Base 2.0, Media and Data Integrity Errors; nvme_error_status()";
const PATH: &str = "Base 2.0, Path Related Status; nvme_is_path_error()";
const ANA: &str =
    "Base 2.0, Path Related Status and ANA state transitions; nvme_failover_req() queues ana_work on nvme_is_ana_error()";

/// The classification table. Row order matters only for the wildcards at the
/// end.
#[rustfmt::skip] // one row a line reads as a table
pub const RULES: &[Rule] = &[
    row(StatusCode::SUCCESS, Disposition::Success, GENERIC),
    row(StatusCode::INVALID_OPCODE, Target(T::IllegalRequest), "Base 2.0, Generic Command Status; nvme_error_status(): BLK_STS_NOTSUPP"),
    row(StatusCode::INVALID_FIELD, Target(T::IllegalRequest), "Base 2.0, Generic Command Status; nvme_error_status(): BLK_STS_NOTSUPP"),
    row(StatusCode::INVALID_NAMESPACE, Target(T::IllegalRequest), "Base 2.0, Generic Command Status; nvme_error_status(): BLK_STS_NOTSUPP"),
    row(StatusCode::LBA_OUT_OF_RANGE, Target(T::IllegalRequest), "NVM Command Set 1.0, Generic Command Status 80h; nvme_error_status(): BLK_STS_TARGET"),
    row(StatusCode::DATA_TRANSFER_ERROR, Target(T::Other), "Base 2.0, Generic Command Status; nvme_error_status(): BLK_STS_IOERR"),
    row(StatusCode::INTERNAL_ERROR, Target(T::Hardware), "Base 2.0, Generic Command Status: the controller failed internally, as SCSI HARDWARE ERROR"),
    row(StatusCode::ABORT_REQUESTED, Target(T::Other), GENERIC),
    row(StatusCode::ABORT_SQ_DELETION, Target(T::Other), GENERIC),
    row(StatusCode::POWER_LOSS_ABORT, Target(T::Other), GENERIC),
    // Another host's Reservation Acquire (preempt and abort) removed our
    // registration and aborted this command; retrying would only conflict,
    // so tell the reservation coordinator (Base 2.0, Preempting a Reservation or Registration).
    notice(
        row(StatusCode::ABORTED_PREEMPT, Target(T::Other), "Base 2.0, Generic Command Status generic 1Bh and Preempting a Reservation or Registration"),
        Notices::REGISTRATIONS_PREEMPTED,
    ),
    row(StatusCode::NAMESPACE_WRITE_PROTECTED, Target(T::DataProtect), "Base 2.0, Generic Command Status generic 20h and Namespace Write Protection"),
    row(StatusCode::COMMAND_INTERRUPTED, Target(T::Other), "Base 2.0, Generic Command Status generic 21h: retry expected to succeed; nvme_error_status(): BLK_STS_TARGET"),
    row(StatusCode::TRANSIENT_TRANSPORT_ERROR, Target(T::Other), "Base 2.0, Generic Command Status generic 22h: retry on the same controller likely to succeed"),
    row(StatusCode::CAPACITY_EXCEEDED, Target(T::NoSpace), "NVM Command Set 1.0, Generic Command Status 81h; nvme_error_status(): BLK_STS_NOSPC"),
    row(StatusCode::NAMESPACE_NOT_READY, Target(T::Other), "NVM Command Set 1.0, Generic Command Status 82h; nvme_error_status(): BLK_STS_TARGET"),
    row(StatusCode::RESERVATION_CONFLICT, Conflict, "NVM Command Set 1.0, Generic Command Status 83h; nvme_error_status(): BLK_STS_RESV_CONFLICT"),
    row(StatusCode::FORMAT_IN_PROGRESS, Target(T::Other), GENERIC),
    row(StatusCode::INVALID_LOG_PAGE, Target(T::IllegalRequest), CMD),
    row(StatusCode::ANA_GROUP_ID_INVALID, Target(T::IllegalRequest), CMD),
    row(StatusCode::CONFLICTING_ATTRIBUTES, Target(T::IllegalRequest), "NVM Command Set 1.0, Command Specific Status 80h; nvme_error_status(): BLK_STS_NOTSUPP"),
    row(StatusCode::INVALID_PROTECTION_INFO, Target(T::Protection), "NVM Command Set 1.0, Command Specific Status 81h; nvme_error_status(): BLK_STS_PROTECTION"),
    // Linux maps this to BLK_STS_MEDIUM; it is a write-protected range, which
    // the core's vocabulary (from SCSI DATA PROTECT) names exactly.
    row(StatusCode::WRITE_TO_READ_ONLY_RANGE, Target(T::DataProtect), "NVM Command Set 1.0, Command Specific Status 82h"),
    row(StatusCode::WRITE_FAULT, Target(T::Medium), MEDIA),
    row(StatusCode::UNRECOVERED_READ_ERROR, Target(T::Medium), MEDIA),
    row(StatusCode::GUARD_CHECK_ERROR, Target(T::Protection), MEDIA),
    row(StatusCode::APP_TAG_CHECK_ERROR, Target(T::Protection), MEDIA),
    row(StatusCode::REF_TAG_CHECK_ERROR, Target(T::Protection), MEDIA),
    row(StatusCode::COMPARE_FAILURE, Target(T::Medium), MEDIA),
    row(StatusCode::ACCESS_DENIED, Target(T::Medium), MEDIA),
    row(StatusCode::UNWRITTEN_BLOCK, Target(T::Medium), MEDIA),
    row(StatusCode::INTERNAL_PATH_ERROR, Path(P::PathingError), PATH),
    notice(row(StatusCode::ANA_PERSISTENT_LOSS, Path(P::AccessDenied), ANA), Notices::ACCESS_STATE_CHANGED),
    notice(row(StatusCode::ANA_INACCESSIBLE, Path(P::AccessDenied), ANA), Notices::ACCESS_STATE_CHANGED),
    notice(row(StatusCode::ANA_TRANSITION, Path(P::Transitioning), ANA), Notices::ACCESS_STATE_CHANGED),
    row(StatusCode::CONTROLLER_PATHING_ERROR, Path(P::PathingError), PATH),
    row(StatusCode::HOST_PATHING_ERROR, Path(P::PathingError), "Base 2.0, Path Related Status; nvmf_fail_nonready_command() and nvme_error_status(): BLK_STS_TRANSPORT"),
    row(StatusCode::ABORTED_BY_HOST, Path(P::Aborted), PATH),
    Rule {
        cause: Cause::Timeout,
        disposition: Path(P::Timeout),
        notices: Notices::empty(),
        source: "nvme_timeout() resets the queue; nvme_cancel_request() ends the command with NVME_SC_HOST_ABORTED_CMD, a path error",
    },
    Rule {
        cause: Cause::ConnectionLost,
        disposition: Path(P::Transport),
        notices: Notices::empty(),
        source: "nvmf_fail_nonready_command(): NVME_SC_HOST_PATH_ERROR while the connection is down",
    },
    Rule {
        cause: Cause::ControllerReset,
        disposition: Path(P::Aborted),
        notices: Notices::empty(),
        source: "nvme_cancel_request() on reset: NVME_SC_HOST_ABORTED_CMD (path 71h)",
    },
    // Wildcards last. Every SCT 3h code is a path error, vendor specific and
    // reserved ones too (nvme_is_path_error() tests the SCT only).
    Rule {
        cause: Cause::AnyOfType(sct::PATH),
        disposition: Path(P::PathingError),
        notices: Notices::empty(),
        source: PATH,
    },
    Rule {
        cause: Cause::AnyCode,
        disposition: Target(T::Other),
        notices: Notices::empty(),
        source: "nvme_decide_disposition(): COMPLETE with DNR, else RETRY; nvme_error_status(): BLK_STS_IOERR",
    },
];

impl Cause {
    fn matches(self, delivery: Delivery) -> bool {
        match (self, delivery) {
            (Cause::Code(code), Delivery::Completed(s)) => s.code() == code,
            (Cause::AnyOfType(t), Delivery::Completed(s)) => s.sct() == t,
            (Cause::AnyCode, Delivery::Completed(_)) => true,
            (Cause::Timeout, Delivery::Timeout)
            | (Cause::ConnectionLost, Delivery::ConnectionLost)
            | (Cause::ControllerReset, Delivery::ControllerReset) => true,
            _ => false,
        }
    }
}

/// The row of [`RULES`] that decides `delivery`. `None` cannot happen for a
/// well-formed table (the last row matches every status, and every transport
/// failure has its row); the tests check that.
pub fn rule_for(delivery: Delivery) -> Option<&'static Rule> {
    RULES.iter().find(|rule| rule.cause.matches(delivery))
}

/// Classifies how a command ended. `crdt` is the controller's Command Retry
/// Delay Times from Identify Controller, used for retries.
pub fn classify(delivery: Delivery, crdt: &Crdt) -> Completion {
    let Some(rule) = rule_for(delivery) else {
        // Unreachable with the table above; fail safe towards the caller.
        return Outcome::TargetError(TargetError::Other).into();
    };
    let status = match delivery {
        Delivery::Completed(s) => s,
        _ => Status::SUCCESS,
    };
    let outcome = match rule.disposition {
        Disposition::Success => Outcome::Success,
        Disposition::Path(kind) => Outcome::PathError(kind),
        Disposition::Conflict => Outcome::ReservationConflict,
        Disposition::Target(error) if status.dnr() => Outcome::TargetError(error),
        Disposition::Target(_) => Outcome::Retry {
            reason: RetryReason::Transient,
            delay: crdt.delay(status.crd()),
        },
    };
    Completion {
        outcome,
        notices: rule.notices,
    }
}

/// Classifies a completion's status; see [`classify`].
pub fn classify_status(status: Status, crdt: &Crdt) -> Completion {
    classify(Delivery::Completed(status), crdt)
}

/// The retry delay of a status (zero when CRD is 0).
pub fn retry_delay(status: Status, crdt: &Crdt) -> Duration {
    crdt.delay(status.crd())
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
