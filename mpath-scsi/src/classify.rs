//! From a finished SCSI command to the core's [`Completion`] and, for TEST
//! UNIT READY probes, [`ProbeResult`].
//!
//! All decisions come from one table, [`RULES`], so the code, its
//! documentation and its tests cannot drift apart. The first matching row
//! wins, in this order of evidence: the transport's verdict (a command that
//! never reached the target has no SCSI status), then the status byte, then
//! the sense data of a CHECK CONDITION.

use mpath_core::outcome::{
    Completion, Notices, Outcome, PathErrorKind, ProbeResult, RetryReason, TargetError,
};
use mpath_core::time::Duration;

use crate::sense::Sense;
use crate::sense_key::SenseKey;

/// SCSI STATUS codes (SAM-5 5.3.1, table 27).
pub mod status {
    /// GOOD.
    pub const GOOD: u8 = 0x00;
    /// CHECK CONDITION: sense data describes the error.
    pub const CHECK_CONDITION: u8 = 0x02;
    /// CONDITION MET (PRE-FETCH): success.
    pub const CONDITION_MET: u8 = 0x04;
    /// BUSY.
    pub const BUSY: u8 = 0x08;
    /// RESERVATION CONFLICT.
    pub const RESERVATION_CONFLICT: u8 = 0x18;
    /// TASK SET FULL.
    pub const TASK_SET_FULL: u8 = 0x28;
    /// ACA ACTIVE.
    pub const ACA_ACTIVE: u8 = 0x30;
    /// TASK ABORTED.
    pub const TASK_ABORTED: u8 = 0x40;
}

/// What the initiator's transport (HBA driver, iSCSI or FC initiator) says
/// about delivering the command, independent of any SCSI status. These are
/// the Linux host bytes a multipath stack distinguishes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TransportStatus {
    /// Delivered; the status byte and sense data are meaningful.
    Ok,
    /// Could not connect to the target port (DID_NO_CONNECT).
    NoConnect,
    /// The connection broke while the command was outstanding
    /// (DID_TRANSPORT_DISRUPTED).
    Disrupted,
    /// The transport gave up quickly on a lost port (DID_TRANSPORT_FAILFAST,
    /// fast_io_fail_tmo).
    FailFast,
    /// The command timed out and was aborted (DID_TIME_OUT).
    Timeout,
    /// The transport declared the path marginal, e.g. on FC FPIN
    /// (DID_TRANSPORT_MARGINAL).
    Marginal,
    /// The initiator aborted the command (DID_ABORT, e.g. during a reset).
    Aborted,
}

/// The ASC/ASCQ part of a sense rule: `None` matches any value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SenseMatch {
    /// SENSE KEY.
    pub key: SenseKey,
    /// ADDITIONAL SENSE CODE, or any.
    pub asc: Option<u8>,
    /// ADDITIONAL SENSE CODE QUALIFIER, or any.
    pub ascq: Option<u8>,
}

/// When a [`Rule`] applies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Condition {
    /// The transport reported this (never `TransportStatus::Ok`).
    Transport(TransportStatus),
    /// The status byte is this (never CHECK CONDITION).
    Status(u8),
    /// Any status byte no other row names.
    OtherStatus,
    /// CHECK CONDITION without usable sense data.
    NoSense,
    /// CHECK CONDITION with deferred sense data (71h/73h).
    Deferred,
    /// CHECK CONDITION with current sense data matching this.
    Sense(SenseMatch),
}

/// One row of the classification table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rule {
    /// When the row applies.
    pub when: Condition,
    /// The outcome of an I/O.
    pub outcome: Outcome,
    /// Notices the completion carries.
    pub notices: Notices,
    /// The verdict if the command was a TEST UNIT READY probe.
    pub probe: ProbeResult,
    /// The spec clause or kernel / multipath-tools function this follows.
    pub source: &'static str,
}

impl Rule {
    /// The row's outcome and notices.
    pub const fn completion(&self) -> Completion {
        Completion {
            outcome: self.outcome,
            notices: self.notices,
        }
    }
}

const NONE: Notices = Notices::empty();
const ASC: Notices = Notices::ACCESS_STATE_CHANGED;
const RETRY: Duration = Duration::ZERO;

const fn retry(reason: RetryReason) -> Outcome {
    Outcome::Retry {
        reason,
        delay: RETRY,
    }
}

const fn sense(key: SenseKey, asc: Option<u8>, ascq: Option<u8>) -> Condition {
    Condition::Sense(SenseMatch { key, asc, ascq })
}

const fn row(
    when: Condition,
    outcome: Outcome,
    notices: Notices,
    probe: ProbeResult,
    source: &'static str,
) -> Rule {
    Rule {
        when,
        outcome,
        notices,
        probe,
        source,
    }
}

use Condition::Transport as T;
use ProbeResult::{Down, Ghost, Pending, Retry as Again, Up};
use SenseKey as K;
use TransportStatus as X;

const PATH_TRANSPORT: Outcome = Outcome::PathError(PathErrorKind::Transport);
const ACCESS_DENIED: Outcome = Outcome::PathError(PathErrorKind::AccessDenied);
const UA: Outcome = retry(RetryReason::UnitAttention);
const TRANSIENT: Outcome = retry(RetryReason::Transient);

/// The classification table. First match wins.
///
/// | when | outcome | notices | probe | source |
/// |------|---------|---------|-------|--------|
/// | transport NoConnect | PathError(Transport) | - | Down | scsi_result_to_blk_status: DID_NO_CONNECT -> BLK_STS_TRANSPORT |
/// | transport Disrupted | PathError(Transport) | - | Down | scsi_result_to_blk_status: DID_TRANSPORT_DISRUPTED (failfast) -> BLK_STS_TRANSPORT |
/// | transport FailFast | PathError(Transport) | - | Down | scsi_result_to_blk_status: DID_TRANSPORT_FAILFAST -> BLK_STS_TRANSPORT |
/// | transport Timeout | PathError(Timeout) | - | Down | blk_path_error: BLK_STS_TIMEOUT; tur checker: timeout -> PATH_DOWN |
/// | transport Marginal | PathError(Transport) | PATH_MARGINAL | Down | scsi_result_to_blk_status: DID_TRANSPORT_MARGINAL -> BLK_STS_TRANSPORT |
/// | transport Aborted | PathError(Aborted) | - | Down | scsi_decide_disposition: DID_ABORT |
/// | status 00h | Success | - | Up | SAM-5 5.3.1 GOOD |
/// | status 04h | Success | - | Up | SAM-5 5.3.1 CONDITION MET |
/// | status 08h | Retry(Busy) | - | Retry | SAM-5 5.3.1 BUSY; scsi_decide_disposition: ADD_TO_MLQUEUE |
/// | status 28h | Retry(TaskSetFull) | - | Retry | SAM-5 5.3.1 TASK SET FULL; scsi_decide_disposition: ADD_TO_MLQUEUE |
/// | status 18h | ReservationConflict | - | Up | SPC-4 5.13.1; tur checker: reservation conflict -> PATH_UP |
/// | status 30h | Retry(Transient) | - | Retry | SAM-5 5.3.1 ACA ACTIVE; scsi_decide_disposition: ADD_TO_MLQUEUE |
/// | status 40h | Retry(Transient) | - | Retry | SAM-5 5.3.1 TASK ABORTED; scsi_decide_disposition: maybe_retry |
/// | other status | TargetError(Other) | - | Down | SAM-5 5.3.1 obsolete or reserved status |
/// | no usable sense | Retry(Transient) | - | Down | scsi_check_sense: no valid sense -> FAILED (error handler asks again) |
/// | deferred sense | Retry(Transient) | - | Retry | SPC-4 4.5.5 deferred errors; scsi_check_sense: deferred -> NEEDS_RETRY |
/// | 02/04/0A | PathError(Transitioning) | ACCESS_STATE_CHANGED | Pending | SPC-4 5.15.2.4.7 transitioning; alua_check_sense |
/// | 02/04/0B | PathError(AccessDenied) | ACCESS_STATE_CHANGED | Ghost | SPC-4 5.15.2.4.4 standby; alua_prep_fn; tur checker: PATH_GHOST |
/// | 02/04/0C | PathError(AccessDenied) | ACCESS_STATE_CHANGED | Down | SPC-4 5.15.2.4.5 unavailable; alua_prep_fn |
/// | 02/04/01 | Retry(Transient) | - | Down | scsi_check_sense: becoming ready -> NEEDS_RETRY; tur checker: PATH_DOWN |
/// | 02/xx/xx | PathError(AccessDenied) | - | Down | scsi_io_completion_action: NOT READY -> fail; tur checker: PATH_DOWN |
/// | 06/2A/06 | Retry(UnitAttention) | ACCESS_STATE_CHANGED | Retry | SPC-4 5.15.2.2; alua_check_sense: ALUA state changed |
/// | 06/2A/07 | Retry(UnitAttention) | ACCESS_STATE_CHANGED | Retry | SPC-4 5.15.2.2; alua_check_sense: implicit transition failed |
/// | 06/29/xx | Retry(UnitAttention) | RESET_OCCURRED | Retry | SAM-5 6.3; alua_check_sense: power on, reset, I_T nexus loss |
/// | 06/3F/0E | Retry(UnitAttention) | LUNS_CHANGED | Retry | SPC-4 6.33; alua_check_sense: reported LUNs data changed |
/// | 06/2A/03 | Retry(UnitAttention) | RESERVATIONS_PREEMPTED | Retry | SPC-4 5.13.11.2.4 reservations preempted |
/// | 06/2A/04 | Retry(UnitAttention) | RESERVATIONS_RELEASED | Retry | SPC-4 5.13.11.2.2 reservations released |
/// | 06/2A/05 | Retry(UnitAttention) | REGISTRATIONS_PREEMPTED | Retry | SPC-4 5.13.11.2.4 registrations preempted |
/// | 06/2A/01 | Retry(UnitAttention) | PARAMETERS_CHANGED | Retry | SPC-4 mode parameters changed; alua_check_sense |
/// | 06/2A/09 | Retry(UnitAttention) | PARAMETERS_CHANGED | Retry | SBC-3 capacity data has changed |
/// | 06/3F/03 | Retry(UnitAttention) | PARAMETERS_CHANGED | Retry | SPC-4 inquiry data has changed; alua_check_sense |
/// | 06/xx/xx | Retry(UnitAttention) | - | Retry | scsi_check_sense: UNIT ATTENTION -> retry; tur checker: retry |
/// | 0B/10/xx | TargetError(Protection) | - | Down | SBC-3 4.22 protection information; scsi_check_sense: asc 10h -> SUCCESS |
/// | 0B/xx/xx | Retry(Transient) | - | Down | scsi_check_sense: ABORTED COMMAND -> NEEDS_RETRY |
/// | 03/xx/xx | TargetError(Medium) | - | Down | scsi_check_sense: MEDIUM ERROR -> DID_MEDIUM_ERROR |
/// | 04/xx/xx | TargetError(Hardware) | - | Down | scsi_check_sense: HARDWARE ERROR -> DID_TARGET_FAILURE |
/// | 05/xx/xx | TargetError(IllegalRequest) | - | Down | scsi_check_sense: ILLEGAL REQUEST -> DID_TARGET_FAILURE |
/// | 07/27/07 | TargetError(NoSpace) | - | Down | SBC-3 4.7.3.6 space allocation failed; scsi_check_sense -> DID_ALLOC_FAILURE |
/// | 07/xx/xx | TargetError(DataProtect) | - | Down | scsi_check_sense: DATA PROTECT -> DID_TARGET_FAILURE |
/// | 01/xx/xx | Success | - | Up | SPC-4 4.5.6 RECOVERED ERROR: completed; scsi_check_sense -> SUCCESS |
/// | 0F/xx/xx | Success | - | Up | SPC-4 4.5.6 COMPLETED: completed, sense is informational |
/// | 00/xx/xx | Retry(Transient) | - | Retry | SPC-4 4.5.6 NO SENSE: nothing reported, retry |
/// | 08/xx/xx | TargetError(Other) | - | Down | scsi_check_sense: BLANK CHECK -> DID_TARGET_FAILURE |
/// | 09/xx/xx | TargetError(Other) | - | Down | scsi_check_sense: default -> SUCCESS (fail) |
/// | 0A/xx/xx | TargetError(Other) | - | Down | scsi_check_sense: COPY ABORTED -> DID_TARGET_FAILURE |
/// | 0C/xx/xx | TargetError(Other) | - | Down | SPC-4 4.5.6 obsolete sense key; scsi_check_sense: default |
/// | 0D/xx/xx | TargetError(Other) | - | Down | scsi_check_sense: VOLUME OVERFLOW -> DID_TARGET_FAILURE |
/// | 0E/xx/xx | TargetError(Other) | - | Down | scsi_check_sense: MISCOMPARE -> DID_TARGET_FAILURE |
#[rustfmt::skip]
pub const RULES: &[Rule] = &[
    // The command never completed at the target: the path is at fault.
    row(T(X::NoConnect), PATH_TRANSPORT, NONE, Down, "scsi_result_to_blk_status: DID_NO_CONNECT -> BLK_STS_TRANSPORT"),
    row(T(X::Disrupted), PATH_TRANSPORT, NONE, Down, "scsi_result_to_blk_status: DID_TRANSPORT_DISRUPTED (failfast) -> BLK_STS_TRANSPORT"),
    row(T(X::FailFast), PATH_TRANSPORT, NONE, Down, "scsi_result_to_blk_status: DID_TRANSPORT_FAILFAST -> BLK_STS_TRANSPORT"),
    row(T(X::Timeout), Outcome::PathError(PathErrorKind::Timeout), NONE, Down, "blk_path_error: BLK_STS_TIMEOUT; tur checker: timeout -> PATH_DOWN"),
    row(T(X::Marginal), PATH_TRANSPORT, Notices::PATH_MARGINAL, Down, "scsi_result_to_blk_status: DID_TRANSPORT_MARGINAL -> BLK_STS_TRANSPORT"),
    row(T(X::Aborted), Outcome::PathError(PathErrorKind::Aborted), NONE, Down, "scsi_decide_disposition: DID_ABORT"),
    // Status byte (SAM-5 5.3.1).
    row(Condition::Status(status::GOOD), Outcome::Success, NONE, Up, "SAM-5 5.3.1 GOOD"),
    row(Condition::Status(status::CONDITION_MET), Outcome::Success, NONE, Up, "SAM-5 5.3.1 CONDITION MET"),
    row(Condition::Status(status::BUSY), retry(RetryReason::Busy), NONE, Again, "SAM-5 5.3.1 BUSY; scsi_decide_disposition: ADD_TO_MLQUEUE"),
    row(Condition::Status(status::TASK_SET_FULL), retry(RetryReason::TaskSetFull), NONE, Again, "SAM-5 5.3.1 TASK SET FULL; scsi_decide_disposition: ADD_TO_MLQUEUE"),
    row(Condition::Status(status::RESERVATION_CONFLICT), Outcome::ReservationConflict, NONE, Up, "SPC-4 5.13.1; tur checker: reservation conflict -> PATH_UP"),
    row(Condition::Status(status::ACA_ACTIVE), TRANSIENT, NONE, Again, "SAM-5 5.3.1 ACA ACTIVE; scsi_decide_disposition: ADD_TO_MLQUEUE"),
    row(Condition::Status(status::TASK_ABORTED), TRANSIENT, NONE, Again, "SAM-5 5.3.1 TASK ABORTED; scsi_decide_disposition: maybe_retry"),
    row(Condition::OtherStatus, Outcome::TargetError(TargetError::Other), NONE, Down, "SAM-5 5.3.1 obsolete or reserved status"),
    row(Condition::NoSense, TRANSIENT, NONE, Down, "scsi_check_sense: no valid sense -> FAILED (error handler asks again)"),
    row(Condition::Deferred, TRANSIENT, NONE, Again, "SPC-4 4.5.5 deferred errors; scsi_check_sense: deferred -> NEEDS_RETRY"),
    // NOT READY: ALUA states first (SPC-4 5.15.2.4).
    row(sense(K::NotReady, Some(0x04), Some(0x0A)), Outcome::PathError(PathErrorKind::Transitioning), ASC, Pending, "SPC-4 5.15.2.4.7 transitioning; alua_check_sense"),
    row(sense(K::NotReady, Some(0x04), Some(0x0B)), ACCESS_DENIED, ASC, Ghost, "SPC-4 5.15.2.4.4 standby; alua_prep_fn; tur checker: PATH_GHOST"),
    row(sense(K::NotReady, Some(0x04), Some(0x0C)), ACCESS_DENIED, ASC, Down, "SPC-4 5.15.2.4.5 unavailable; alua_prep_fn"),
    row(sense(K::NotReady, Some(0x04), Some(0x01)), TRANSIENT, NONE, Down, "scsi_check_sense: becoming ready -> NEEDS_RETRY; tur checker: PATH_DOWN"),
    row(sense(K::NotReady, None, None), ACCESS_DENIED, NONE, Down, "scsi_io_completion_action: NOT READY -> fail; tur checker: PATH_DOWN"),
    // UNIT ATTENTION: retry, and say what changed (alua_check_sense).
    row(sense(K::UnitAttention, Some(0x2A), Some(0x06)), UA, ASC, Again, "SPC-4 5.15.2.2; alua_check_sense: ALUA state changed"),
    row(sense(K::UnitAttention, Some(0x2A), Some(0x07)), UA, ASC, Again, "SPC-4 5.15.2.2; alua_check_sense: implicit transition failed"),
    row(sense(K::UnitAttention, Some(0x29), None), UA, Notices::RESET_OCCURRED, Again, "SAM-5 6.3; alua_check_sense: power on, reset, I_T nexus loss"),
    row(sense(K::UnitAttention, Some(0x3F), Some(0x0E)), UA, Notices::LUNS_CHANGED, Again, "SPC-4 6.33; alua_check_sense: reported LUNs data changed"),
    row(sense(K::UnitAttention, Some(0x2A), Some(0x03)), UA, Notices::RESERVATIONS_PREEMPTED, Again, "SPC-4 5.13.11.2.4 reservations preempted"),
    row(sense(K::UnitAttention, Some(0x2A), Some(0x04)), UA, Notices::RESERVATIONS_RELEASED, Again, "SPC-4 5.13.11.2.2 reservations released"),
    row(sense(K::UnitAttention, Some(0x2A), Some(0x05)), UA, Notices::REGISTRATIONS_PREEMPTED, Again, "SPC-4 5.13.11.2.4 registrations preempted"),
    row(sense(K::UnitAttention, Some(0x2A), Some(0x01)), UA, Notices::PARAMETERS_CHANGED, Again, "SPC-4 mode parameters changed; alua_check_sense"),
    row(sense(K::UnitAttention, Some(0x2A), Some(0x09)), UA, Notices::PARAMETERS_CHANGED, Again, "SBC-3 capacity data has changed"),
    row(sense(K::UnitAttention, Some(0x3F), Some(0x03)), UA, Notices::PARAMETERS_CHANGED, Again, "SPC-4 inquiry data has changed; alua_check_sense"),
    row(sense(K::UnitAttention, None, None), UA, NONE, Again, "scsi_check_sense: UNIT ATTENTION -> retry; tur checker: retry"),
    // ABORTED COMMAND: protection information errors are final (SBC-3 4.22).
    row(sense(K::AbortedCommand, Some(0x10), None), Outcome::TargetError(TargetError::Protection), NONE, Down, "SBC-3 4.22 protection information; scsi_check_sense: asc 10h -> SUCCESS"),
    row(sense(K::AbortedCommand, None, None), TRANSIENT, NONE, Down, "scsi_check_sense: ABORTED COMMAND -> NEEDS_RETRY"),
    // Errors another path would see too.
    row(sense(K::MediumError, None, None), Outcome::TargetError(TargetError::Medium), NONE, Down, "scsi_check_sense: MEDIUM ERROR -> DID_MEDIUM_ERROR"),
    row(sense(K::HardwareError, None, None), Outcome::TargetError(TargetError::Hardware), NONE, Down, "scsi_check_sense: HARDWARE ERROR -> DID_TARGET_FAILURE"),
    row(sense(K::IllegalRequest, None, None), Outcome::TargetError(TargetError::IllegalRequest), NONE, Down, "scsi_check_sense: ILLEGAL REQUEST -> DID_TARGET_FAILURE"),
    row(sense(K::DataProtect, Some(0x27), Some(0x07)), Outcome::TargetError(TargetError::NoSpace), NONE, Down, "SBC-3 4.7.3.6 space allocation failed; scsi_check_sense -> DID_ALLOC_FAILURE"),
    row(sense(K::DataProtect, None, None), Outcome::TargetError(TargetError::DataProtect), NONE, Down, "scsi_check_sense: DATA PROTECT -> DID_TARGET_FAILURE"),
    row(sense(K::RecoveredError, None, None), Outcome::Success, NONE, Up, "SPC-4 4.5.6 RECOVERED ERROR: completed; scsi_check_sense -> SUCCESS"),
    row(sense(K::Completed, None, None), Outcome::Success, NONE, Up, "SPC-4 4.5.6 COMPLETED: completed, sense is informational"),
    row(sense(K::NoSense, None, None), TRANSIENT, NONE, Again, "SPC-4 4.5.6 NO SENSE: nothing reported, retry"),
    row(sense(K::BlankCheck, None, None), Outcome::TargetError(TargetError::Other), NONE, Down, "scsi_check_sense: BLANK CHECK -> DID_TARGET_FAILURE"),
    row(sense(K::VendorSpecific, None, None), Outcome::TargetError(TargetError::Other), NONE, Down, "scsi_check_sense: default -> SUCCESS (fail)"),
    row(sense(K::CopyAborted, None, None), Outcome::TargetError(TargetError::Other), NONE, Down, "scsi_check_sense: COPY ABORTED -> DID_TARGET_FAILURE"),
    row(sense(K::Equal, None, None), Outcome::TargetError(TargetError::Other), NONE, Down, "SPC-4 4.5.6 obsolete sense key; scsi_check_sense: default"),
    row(sense(K::VolumeOverflow, None, None), Outcome::TargetError(TargetError::Other), NONE, Down, "scsi_check_sense: VOLUME OVERFLOW -> DID_TARGET_FAILURE"),
    row(sense(K::Miscompare, None, None), Outcome::TargetError(TargetError::Other), NONE, Down, "scsi_check_sense: MISCOMPARE -> DID_TARGET_FAILURE"),
];

/// The row for current sense data with this key and ASC/ASCQ. Every sense key
/// has a catch-all row, so this always finds one.
pub fn rule_for_sense(key: SenseKey, asc: u8, ascq: u8) -> &'static Rule {
    let hit = |m: &SenseMatch| {
        m.key == key && m.asc.map_or(true, |a| a == asc) && m.ascq.map_or(true, |q| q == ascq)
    };
    RULES
        .iter()
        .find(|r| matches!(&r.when, Condition::Sense(m) if hit(m)))
        .unwrap_or(&FALLBACK)
}

/// Used only if a sense key had no catch-all row (a test proves none lacks one).
const FALLBACK: Rule = row(
    Condition::OtherStatus,
    Outcome::TargetError(TargetError::Other),
    NONE,
    Down,
    "fallback",
);

fn find(when: Condition) -> &'static Rule {
    RULES.iter().find(|r| r.when == when).unwrap_or(&FALLBACK)
}

/// The row for a finished command: transport verdict, SCSI status byte, and
/// the sense buffer (looked at only for CHECK CONDITION; it may be truncated).
pub fn rule_for(
    transport: TransportStatus,
    status_byte: u8,
    sense: Option<&[u8]>,
) -> &'static Rule {
    if transport != TransportStatus::Ok {
        return find(Condition::Transport(transport));
    }
    if status_byte != status::CHECK_CONDITION {
        return RULES
            .iter()
            .find(|r| r.when == Condition::Status(status_byte))
            .unwrap_or_else(|| find(Condition::OtherStatus));
    }
    match sense.map(Sense::new_truncated) {
        Some(Ok(s)) if s.is_deferred() => find(Condition::Deferred),
        Some(Ok(s)) => rule_for_sense(s.key(), s.asc(), s.ascq()),
        _ => find(Condition::NoSense),
    }
}

/// Classify an I/O completion.
pub fn classify(transport: TransportStatus, status_byte: u8, sense: Option<&[u8]>) -> Completion {
    rule_for(transport, status_byte, sense).completion()
}

/// Classify the completion of a TEST UNIT READY probe.
pub fn classify_probe(
    transport: TransportStatus,
    status_byte: u8,
    sense: Option<&[u8]>,
) -> ProbeResult {
    rule_for(transport, status_byte, sense).probe
}

#[cfg(test)]
#[path = "classify_tests.rs"]
mod tests;
