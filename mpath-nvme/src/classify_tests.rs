use super::*;
use proptest::prelude::*;

const CRDT: Crdt = Crdt([1, 20, 300]);

fn status(code: StatusCode, dnr: bool, crd: u8) -> Status {
    Status::new(code).with_dnr(dnr).with_crd(crd)
}

/// Independent expectations for every exact-code row, written from the
/// spec and kernel rather than derived from the table.
#[test]
fn every_row_classifies_as_documented() {
    use StatusCode as C;
    let retry = |crd_ms: u64| Outcome::Retry {
        reason: RetryReason::Transient,
        delay: Duration::from_millis(crd_ms),
    };
    let ana = Notices::ACCESS_STATE_CHANGED;
    let none = Notices::empty();
    // (code, outcome with DNR, outcome without DNR and CRD 2, notices)
    let table = [
        (C::SUCCESS, Outcome::Success, Outcome::Success, none),
        (
            C::INVALID_OPCODE,
            Outcome::TargetError(T::IllegalRequest),
            retry(2000),
            none,
        ),
        (
            C::INVALID_FIELD,
            Outcome::TargetError(T::IllegalRequest),
            retry(2000),
            none,
        ),
        (
            C::INVALID_NAMESPACE,
            Outcome::TargetError(T::IllegalRequest),
            retry(2000),
            none,
        ),
        (
            C::LBA_OUT_OF_RANGE,
            Outcome::TargetError(T::IllegalRequest),
            retry(2000),
            none,
        ),
        (
            C::DATA_TRANSFER_ERROR,
            Outcome::TargetError(T::Other),
            retry(2000),
            none,
        ),
        (
            C::INTERNAL_ERROR,
            Outcome::TargetError(T::Hardware),
            retry(2000),
            none,
        ),
        (
            C::ABORT_REQUESTED,
            Outcome::TargetError(T::Other),
            retry(2000),
            none,
        ),
        (
            C::ABORT_SQ_DELETION,
            Outcome::TargetError(T::Other),
            retry(2000),
            none,
        ),
        (
            C::POWER_LOSS_ABORT,
            Outcome::TargetError(T::Other),
            retry(2000),
            none,
        ),
        (
            C::ABORTED_PREEMPT,
            Outcome::TargetError(T::Other),
            retry(2000),
            Notices::REGISTRATIONS_PREEMPTED,
        ),
        (
            C::NAMESPACE_WRITE_PROTECTED,
            Outcome::TargetError(T::DataProtect),
            retry(2000),
            none,
        ),
        (
            C::COMMAND_INTERRUPTED,
            Outcome::TargetError(T::Other),
            retry(2000),
            none,
        ),
        (
            C::TRANSIENT_TRANSPORT_ERROR,
            Outcome::TargetError(T::Other),
            retry(2000),
            none,
        ),
        (
            C::CAPACITY_EXCEEDED,
            Outcome::TargetError(T::NoSpace),
            retry(2000),
            none,
        ),
        (
            C::NAMESPACE_NOT_READY,
            Outcome::TargetError(T::Other),
            retry(2000),
            none,
        ),
        (
            C::RESERVATION_CONFLICT,
            Outcome::ReservationConflict,
            Outcome::ReservationConflict,
            none,
        ),
        (
            C::FORMAT_IN_PROGRESS,
            Outcome::TargetError(T::Other),
            retry(2000),
            none,
        ),
        (
            C::INVALID_LOG_PAGE,
            Outcome::TargetError(T::IllegalRequest),
            retry(2000),
            none,
        ),
        (
            C::ANA_GROUP_ID_INVALID,
            Outcome::TargetError(T::IllegalRequest),
            retry(2000),
            none,
        ),
        (
            C::CONFLICTING_ATTRIBUTES,
            Outcome::TargetError(T::IllegalRequest),
            retry(2000),
            none,
        ),
        (
            C::INVALID_PROTECTION_INFO,
            Outcome::TargetError(T::Protection),
            retry(2000),
            none,
        ),
        (
            C::WRITE_TO_READ_ONLY_RANGE,
            Outcome::TargetError(T::DataProtect),
            retry(2000),
            none,
        ),
        (
            C::WRITE_FAULT,
            Outcome::TargetError(T::Medium),
            retry(2000),
            none,
        ),
        (
            C::UNRECOVERED_READ_ERROR,
            Outcome::TargetError(T::Medium),
            retry(2000),
            none,
        ),
        (
            C::GUARD_CHECK_ERROR,
            Outcome::TargetError(T::Protection),
            retry(2000),
            none,
        ),
        (
            C::APP_TAG_CHECK_ERROR,
            Outcome::TargetError(T::Protection),
            retry(2000),
            none,
        ),
        (
            C::REF_TAG_CHECK_ERROR,
            Outcome::TargetError(T::Protection),
            retry(2000),
            none,
        ),
        (
            C::COMPARE_FAILURE,
            Outcome::TargetError(T::Medium),
            retry(2000),
            none,
        ),
        (
            C::ACCESS_DENIED,
            Outcome::TargetError(T::Medium),
            retry(2000),
            none,
        ),
        (
            C::UNWRITTEN_BLOCK,
            Outcome::TargetError(T::Medium),
            retry(2000),
            none,
        ),
        (
            C::INTERNAL_PATH_ERROR,
            Outcome::PathError(P::PathingError),
            Outcome::PathError(P::PathingError),
            none,
        ),
        (
            C::ANA_PERSISTENT_LOSS,
            Outcome::PathError(P::AccessDenied),
            Outcome::PathError(P::AccessDenied),
            ana,
        ),
        (
            C::ANA_INACCESSIBLE,
            Outcome::PathError(P::AccessDenied),
            Outcome::PathError(P::AccessDenied),
            ana,
        ),
        (
            C::ANA_TRANSITION,
            Outcome::PathError(P::Transitioning),
            Outcome::PathError(P::Transitioning),
            ana,
        ),
        (
            C::CONTROLLER_PATHING_ERROR,
            Outcome::PathError(P::PathingError),
            Outcome::PathError(P::PathingError),
            none,
        ),
        (
            C::HOST_PATHING_ERROR,
            Outcome::PathError(P::PathingError),
            Outcome::PathError(P::PathingError),
            none,
        ),
        (
            C::ABORTED_BY_HOST,
            Outcome::PathError(P::Aborted),
            Outcome::PathError(P::Aborted),
            none,
        ),
    ];
    let mut exact_rows = 0;
    for rule in RULES {
        let Cause::Code(code) = rule.cause else {
            continue;
        };
        exact_rows += 1;
        let (_, with_dnr, without, notices) = table
            .iter()
            .find(|(c, ..)| *c == code)
            .unwrap_or_else(|| panic!("row {code:?} has no expectation"));
        let got = classify_status(status(code, true, 2), &CRDT);
        assert_eq!(got.outcome, *with_dnr, "{code:?} DNR ({})", rule.source);
        assert_eq!(got.notices, *notices, "{code:?}");
        let got = classify_status(status(code, false, 2), &CRDT);
        assert_eq!(got.outcome, *without, "{code:?} no DNR ({})", rule.source);
        assert!(!rule.source.is_empty());
    }
    assert_eq!(exact_rows, table.len(), "table and RULES disagree");
}

#[test]
fn transport_failures_are_path_errors() {
    let table = [
        (Delivery::Timeout, P::Timeout),
        (Delivery::ConnectionLost, P::Transport),
        (Delivery::ControllerReset, P::Aborted),
    ];
    for (delivery, kind) in table {
        let got = classify(delivery, &CRDT);
        assert_eq!(got, Outcome::PathError(kind).into(), "{delivery:?}");
        assert!(matches!(rule_for(delivery).map(|r| r.cause), Some(c) if c != Cause::AnyCode));
    }
}

#[test]
fn wildcards_cover_unlisted_codes() {
    // A vendor specific path code (SCT 3h, C0h) fails over without notice.
    let got = classify_status(status(StatusCode::new(3, 0xC0), true, 0), &CRDT);
    assert_eq!(got, Outcome::PathError(P::PathingError).into());
    // A reserved controller pathing code (61h) likewise.
    let got = classify_status(status(StatusCode::new(3, 0x61), false, 0), &CRDT);
    assert_eq!(got.outcome, Outcome::PathError(P::PathingError));
    // An unlisted generic code: DNR ends it, otherwise retry.
    let code = StatusCode::new(sct::GENERIC, 0x0C);
    assert_eq!(
        classify_status(status(code, true, 0), &CRDT).outcome,
        Outcome::TargetError(T::Other)
    );
    assert_eq!(
        classify_status(status(code, false, 0), &CRDT).outcome,
        Outcome::Retry {
            reason: RetryReason::Transient,
            delay: Duration::ZERO
        }
    );
}

#[test]
fn crd_selects_crdt_in_100ms_units() {
    let code = StatusCode::NAMESPACE_NOT_READY;
    for (crd, ms) in [(0, 0), (1, 100), (2, 2_000), (3, 30_000)] {
        assert_eq!(
            retry_delay(status(code, false, crd), &CRDT),
            Duration::from_millis(ms),
            "CRD {crd}"
        );
    }
}

#[test]
fn success_ignores_flags() {
    let s = Status::SUCCESS.with_dnr(true).with_more(true);
    assert_eq!(classify_status(s, &CRDT).outcome, Outcome::Success);
}

proptest! {
    #[test]
    fn any_status_classifies_consistently(field in any::<u16>()) {
        let s = Status::from_field(field);
        let got = classify_status(s, &CRDT);
        // SCT 3h is a path error exactly, as nvme_is_path_error().
        prop_assert_eq!(
            matches!(got.outcome, Outcome::PathError(_)),
            s.sct() == sct::PATH
        );
        // Only the three ANA codes ask for an ANA log re-read.
        prop_assert_eq!(
            got.notices.contains(Notices::ACCESS_STATE_CHANGED),
            s.code().is_ana()
        );
        // A retry never happens with DNR set.
        if s.dnr() {
            let is_retry = matches!(got.outcome, Outcome::Retry { .. });
            prop_assert!(!is_retry);
        }
    }
}
