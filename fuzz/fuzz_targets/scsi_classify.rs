//! Classification: no panic on any (transport, status, sense) and the
//! invariants the core relies on; plus the CDB parser's round trip.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_core::outcome::{Outcome, ProbeResult};
use mpath_scsi::classify::{rule_for, status};
use mpath_scsi::{classify, classify_probe, CdbRepr, TransportStatus};

const TRANSPORTS: [TransportStatus; 7] = [
    TransportStatus::Ok,
    TransportStatus::NoConnect,
    TransportStatus::Disrupted,
    TransportStatus::FailFast,
    TransportStatus::Timeout,
    TransportStatus::Marginal,
    TransportStatus::Aborted,
];

fuzz_target!(|data: &[u8]| {
    let [t, s, has_sense, rest @ ..] = data else {
        return;
    };
    let transport = TRANSPORTS[usize::from(*t) % TRANSPORTS.len()];
    let sense = (has_sense & 1 == 1).then_some(rest);
    let c = classify(transport, *s, sense);
    let p = classify_probe(transport, *s, sense);
    let rule = rule_for(transport, *s, sense);
    assert_eq!((c, p), (rule.completion(), rule.probe));
    if transport != TransportStatus::Ok {
        assert!(matches!(c.outcome, Outcome::PathError(_)));
        assert_eq!(p, ProbeResult::Down);
    } else if *s == status::RESERVATION_CONFLICT {
        assert_eq!(c.outcome, Outcome::ReservationConflict);
        assert_eq!(p, ProbeResult::Up);
    } else if *s == status::GOOD {
        assert_eq!(c.outcome, Outcome::Success);
    }
    if let Ok(cdb) = CdbRepr::parse(rest) {
        let mut out = [0u8; 16];
        let n = cdb.emit(&mut out).expect("parsed CDB emits");
        assert_eq!(out[..n], rest[..n]);
        let _ = cdb.command.name();
    }
});
