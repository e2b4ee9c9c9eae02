use super::*;
use crate::sense::{SenseFormat, SenseRepr};

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

fn sense_bytes(format: SenseFormat, key: SenseKey, asc: u8, ascq: u8, deferred: bool) -> Vec<u8> {
    let mut r = SenseRepr::new(format, key, asc, ascq);
    r.deferred = deferred;
    let mut out = [0u8; 64];
    let n = r.emit(&mut out).unwrap();
    out[..n].to_vec()
}

/// An input that reaches `rule` (ASC/ASCQ wildcards get a value no more
/// specific row names).
fn input_for(rule: &Rule) -> (TransportStatus, u8, Option<Vec<u8>>) {
    match rule.when {
        Condition::Transport(t) => (t, status::GOOD, None),
        Condition::Status(s) => (TransportStatus::Ok, s, None),
        Condition::OtherStatus => (TransportStatus::Ok, 0x22, None),
        Condition::NoSense => (TransportStatus::Ok, status::CHECK_CONDITION, None),
        Condition::Deferred => (
            TransportStatus::Ok,
            status::CHECK_CONDITION,
            Some(sense_bytes(
                SenseFormat::Fixed,
                SenseKey::NotReady,
                4,
                0x0A,
                true,
            )),
        ),
        Condition::Sense(m) => (
            TransportStatus::Ok,
            status::CHECK_CONDITION,
            Some(sense_bytes(
                SenseFormat::Descriptor,
                m.key,
                m.asc.unwrap_or(0x7E),
                m.ascq.unwrap_or(0x7E),
                false,
            )),
        ),
    }
}

#[test]
fn every_row_is_reachable_in_both_sense_formats() {
    for rule in RULES {
        let (t, s, sense) = input_for(rule);
        assert_eq!(rule_for(t, s, sense.as_deref()), rule, "{rule:?}");
        if let Condition::Sense(m) = rule.when {
            let fixed = sense_bytes(
                SenseFormat::Fixed,
                m.key,
                m.asc.unwrap_or(0x7E),
                m.ascq.unwrap_or(0x7E),
                false,
            );
            assert_eq!(rule_for(t, s, Some(&fixed)), rule, "{rule:?} fixed");
        }
        assert_eq!(classify(t, s, sense.as_deref()), rule.completion());
        assert_eq!(classify_probe(t, s, sense.as_deref()), rule.probe);
    }
}

#[test]
fn every_sense_key_has_a_catch_all_row() {
    for key in SenseKey::ALL {
        let hit = RULES.iter().any(|r| {
            matches!(r.when, Condition::Sense(m) if m.key == key && m.asc.is_none() && m.ascq.is_none())
        });
        assert!(hit, "{key}");
        assert_ne!(rule_for_sense(key, 0x7E, 0x7E).source, "fallback");
    }
}

/// The behaviour the issue asks for, stated independently of the table.
#[test]
fn required_mappings() {
    use Outcome as O;
    use ProbeResult as P;
    const UA: Outcome = Outcome::Retry {
        reason: RetryReason::UnitAttention,
        delay: Duration::ZERO,
    };
    let cases: &[(u8, u8, u8, Outcome, Notices, ProbeResult)] = &[
        (
            2,
            0x04,
            0x0A,
            O::PathError(PathErrorKind::Transitioning),
            Notices::ACCESS_STATE_CHANGED,
            P::Pending,
        ),
        (
            2,
            0x04,
            0x0B,
            O::PathError(PathErrorKind::AccessDenied),
            Notices::ACCESS_STATE_CHANGED,
            P::Ghost,
        ),
        (
            2,
            0x04,
            0x0C,
            O::PathError(PathErrorKind::AccessDenied),
            Notices::ACCESS_STATE_CHANGED,
            P::Down,
        ),
        (
            2,
            0x04,
            0x01,
            O::Retry {
                reason: RetryReason::Transient,
                delay: Duration::ZERO,
            },
            Notices::empty(),
            P::Down,
        ),
        (
            2,
            0x3A,
            0x00,
            O::PathError(PathErrorKind::AccessDenied),
            Notices::empty(),
            P::Down,
        ),
        (6, 0x2A, 0x06, UA, Notices::ACCESS_STATE_CHANGED, P::Retry),
        (6, 0x2A, 0x07, UA, Notices::ACCESS_STATE_CHANGED, P::Retry),
        (6, 0x29, 0x00, UA, Notices::RESET_OCCURRED, P::Retry),
        (6, 0x29, 0x07, UA, Notices::RESET_OCCURRED, P::Retry),
        (6, 0x3F, 0x0E, UA, Notices::LUNS_CHANGED, P::Retry),
        (6, 0x2A, 0x03, UA, Notices::RESERVATIONS_PREEMPTED, P::Retry),
        (6, 0x2A, 0x04, UA, Notices::RESERVATIONS_RELEASED, P::Retry),
        (
            6,
            0x2A,
            0x05,
            UA,
            Notices::REGISTRATIONS_PREEMPTED,
            P::Retry,
        ),
        (6, 0x28, 0x00, UA, Notices::empty(), P::Retry),
        (
            3,
            0x11,
            0x00,
            O::TargetError(TargetError::Medium),
            Notices::empty(),
            P::Down,
        ),
        (
            4,
            0x44,
            0x00,
            O::TargetError(TargetError::Hardware),
            Notices::empty(),
            P::Down,
        ),
        (
            5,
            0x24,
            0x00,
            O::TargetError(TargetError::IllegalRequest),
            Notices::empty(),
            P::Down,
        ),
        (
            7,
            0x27,
            0x07,
            O::TargetError(TargetError::NoSpace),
            Notices::empty(),
            P::Down,
        ),
        (
            7,
            0x27,
            0x00,
            O::TargetError(TargetError::DataProtect),
            Notices::empty(),
            P::Down,
        ),
        (
            0xB,
            0x10,
            0x01,
            O::TargetError(TargetError::Protection),
            Notices::empty(),
            P::Down,
        ),
        (
            0xB,
            0x10,
            0x03,
            O::TargetError(TargetError::Protection),
            Notices::empty(),
            P::Down,
        ),
        (
            0xB,
            0x47,
            0x00,
            O::Retry {
                reason: RetryReason::Transient,
                delay: Duration::ZERO,
            },
            Notices::empty(),
            P::Down,
        ),
        (1, 0x17, 0x01, O::Success, Notices::empty(), P::Up),
    ];
    for &(key, asc, ascq, outcome, notices, probe) in cases {
        for format in [SenseFormat::Fixed, SenseFormat::Descriptor] {
            let b = sense_bytes(format, SenseKey::from_nibble(key), asc, ascq, false);
            let got = classify(TransportStatus::Ok, status::CHECK_CONDITION, Some(&b));
            assert_eq!(
                got,
                Completion { outcome, notices },
                "{key:x}/{asc:02x}/{ascq:02x}"
            );
            assert_eq!(
                classify_probe(TransportStatus::Ok, status::CHECK_CONDITION, Some(&b)),
                probe
            );
        }
    }
    let statuses: &[(TransportStatus, u8, Outcome, ProbeResult)] = &[
        (TransportStatus::Ok, status::GOOD, O::Success, P::Up),
        (
            TransportStatus::Ok,
            status::RESERVATION_CONFLICT,
            O::ReservationConflict,
            P::Up,
        ),
        (
            TransportStatus::Ok,
            status::BUSY,
            O::Retry {
                reason: RetryReason::Busy,
                delay: Duration::ZERO,
            },
            P::Retry,
        ),
        (
            TransportStatus::Ok,
            status::TASK_SET_FULL,
            O::Retry {
                reason: RetryReason::TaskSetFull,
                delay: Duration::ZERO,
            },
            P::Retry,
        ),
        (
            TransportStatus::Ok,
            0x14,
            O::TargetError(TargetError::Other),
            P::Down,
        ),
        (
            TransportStatus::NoConnect,
            status::GOOD,
            O::PathError(PathErrorKind::Transport),
            P::Down,
        ),
        (
            TransportStatus::Disrupted,
            status::GOOD,
            O::PathError(PathErrorKind::Transport),
            P::Down,
        ),
        (
            TransportStatus::FailFast,
            status::BUSY,
            O::PathError(PathErrorKind::Transport),
            P::Down,
        ),
        (
            TransportStatus::Timeout,
            status::GOOD,
            O::PathError(PathErrorKind::Timeout),
            P::Down,
        ),
        (
            TransportStatus::Marginal,
            status::GOOD,
            O::PathError(PathErrorKind::Transport),
            P::Down,
        ),
        (
            TransportStatus::Aborted,
            status::GOOD,
            O::PathError(PathErrorKind::Aborted),
            P::Down,
        ),
    ];
    for &(t, s, outcome, probe) in statuses {
        assert_eq!(classify(t, s, None).outcome, outcome, "{t:?} {s:#x}");
        assert_eq!(classify_probe(t, s, None), probe, "{t:?} {s:#x}");
    }
    assert_eq!(
        classify(TransportStatus::Marginal, 0, None).notices,
        Notices::PATH_MARGINAL
    );
}

#[test]
fn check_condition_sense_edge_cases() {
    let cc = status::CHECK_CONDITION;
    // Garbage or empty sense: no usable sense.
    for bad in [&[][..], &[0x7F, 0, 0, 0, 0, 0, 0, 0], &[0x70, 0]] {
        assert_eq!(
            rule_for(TransportStatus::Ok, cc, Some(bad)).when,
            Condition::NoSense
        );
    }
    // A deferred error is about an earlier command: retry this one.
    let d = sense_bytes(
        SenseFormat::Descriptor,
        SenseKey::MediumError,
        0x11,
        0,
        true,
    );
    assert_eq!(
        rule_for(TransportStatus::Ok, cc, Some(&d)).when,
        Condition::Deferred
    );
    // Truncated sense (only 14 bytes of a claimed 18) still classifies.
    let t = [0x70, 0, 0x02, 0, 0, 0, 0, 0x0A, 0, 0, 0, 0, 0x04, 0x0B];
    assert_eq!(
        classify_probe(TransportStatus::Ok, cc, Some(&t)),
        ProbeResult::Ghost
    );
    // Cut inside the header: the sense key and ASC/ASCQ still count.
    assert_eq!(
        classify_probe(TransportStatus::Ok, cc, Some(&[0x72, 0x02, 0x04, 0x0B])),
        ProbeResult::Ghost
    );
    // Sense with GOOD status is ignored.
    assert_eq!(
        classify(TransportStatus::Ok, status::GOOD, Some(&t)).outcome,
        Outcome::Success
    );
}

fn doc_outcome(o: Outcome) -> String {
    match o {
        Outcome::Success => "Success".into(),
        Outcome::PathError(k) => format!("PathError({k:?})"),
        Outcome::TargetError(e) => format!("TargetError({e:?})"),
        Outcome::ReservationConflict => "ReservationConflict".into(),
        Outcome::Retry { reason, .. } => format!("Retry({reason:?})"),
        other => format!("{other:?}"),
    }
}

fn doc_when(c: Condition) -> String {
    let b = |v: Option<u8>| v.map_or("xx".into(), |v| format!("{v:02X}"));
    match c {
        Condition::Transport(t) => format!("transport {t:?}"),
        Condition::Status(s) => format!("status {s:02X}h"),
        Condition::OtherStatus => "other status".into(),
        Condition::NoSense => "no usable sense".into(),
        Condition::Deferred => "deferred sense".into(),
        Condition::Sense(m) => format!("{:02X}/{}/{}", m.key.code(), b(m.asc), b(m.ascq)),
    }
}

/// The doc table line of a row.
fn doc_line(r: &Rule) -> String {
    let notices: Vec<&str> = r.notices.iter_names().map(|(n, _)| n).collect();
    let notices = if notices.is_empty() {
        "-".into()
    } else {
        notices.join(" + ")
    };
    format!(
        "/// | {} | {} | {} | {:?} | {} |",
        doc_when(r.when),
        doc_outcome(r.outcome),
        notices,
        r.probe,
        r.source
    )
}

#[test]
fn doc_table_matches_rules() {
    let src = include_str!("classify.rs");
    let doc: Vec<&str> = src
        .lines()
        .filter(|l| l.starts_with("/// | ") && !l.starts_with("/// | when"))
        .collect();
    let want: Vec<String> = RULES.iter().map(doc_line).collect();
    if doc != want {
        for l in &want {
            std::println!("{l}");
        }
        panic!("doc table of RULES is out of date; the lines to paste are printed above");
    }
}
