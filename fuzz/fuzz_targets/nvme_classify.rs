//! Completion and event classification: every input classifies without
//! panicking, and the classification keeps the invariants multipath relies
//! on.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_core::outcome::{Notices, Outcome};
use mpath_nvme::aen::AsyncEvent;
use mpath_nvme::classify::{classify, rule_for, Delivery};
use mpath_nvme::identify::Crdt;
use mpath_nvme::log_page::GetLogPage;
use mpath_nvme::status::{sct, CqeDw3};

fuzz_target!(|data: &[u8]| {
    // dw3 (4) | AEN dw0 (4) | CRDT1..3 (6) | transport selector (1)
    let Some((fixed, _)) = data.split_first_chunk::<15>() else {
        return;
    };
    let word = |i: usize| u32::from_le_bytes([fixed[i], fixed[i + 1], fixed[i + 2], fixed[i + 3]]);
    let half = |i: usize| u16::from_le_bytes([fixed[i], fixed[i + 1]]);
    let dw3 = word(0);
    let crdt = Crdt([half(8), half(10), half(12)]);

    let cqe = CqeDw3::parse(dw3);
    assert_eq!(cqe.emit(), dw3);
    let status = cqe.status;
    let delivery = match fixed[14] % 4 {
        0 => Delivery::Completed(status),
        1 => Delivery::Timeout,
        2 => Delivery::ConnectionLost,
        _ => Delivery::ControllerReset,
    };
    assert!(rule_for(delivery).is_some(), "every delivery has a rule");
    let got = classify(delivery, &crdt);
    if let Delivery::Completed(s) = delivery {
        assert_eq!(matches!(got.outcome, Outcome::PathError(_)), s.sct() == sct::PATH);
        assert_eq!(got.notices.contains(Notices::ACCESS_STATE_CHANGED), s.code().is_ana());
        if s.dnr() {
            assert!(!matches!(got.outcome, Outcome::Retry { .. }));
        }
        if s.is_success() {
            assert_eq!(got.outcome, Outcome::Success);
        }
    } else {
        assert!(matches!(got.outcome, Outcome::PathError(_)));
    }

    let event = AsyncEvent::parse(word(4));
    assert_eq!(AsyncEvent::parse(event.emit()), event);
    let action = event.action();
    // Anything the core is told about comes with a log page to read.
    if !action.notices.is_empty() {
        assert!(action.read_log.is_some());
    }

    let cmd = GetLogPage::parse([dw3, word(4), word(8), word(10)]);
    assert_eq!(GetLogPage::parse(cmd.cdws()), cmd);
});
