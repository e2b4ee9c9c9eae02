//! PERSISTENT RESERVE IN data (the first byte picks the service action) and
//! PERSISTENT RESERVE OUT parameter lists: no panic; parse -> emit -> parse
//! is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_scsi::{PrInAction, PrInRepr, PrOutParams, RegisterAndMoveParams, TransportId};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let action = match PrInAction::from_code(sel & 0x03, 0) {
        Ok(a) => a,
        Err(_) => return,
    };
    if let Ok(r) = PrInRepr::parse_bytes(action, rest) {
        if let PrInRepr::ReadFullStatus { registrations, .. } = r {
            for d in registrations.iter() {
                let _ = (d.transport_id.protocol(), d.transport_id.isid_value());
            }
        }
        let mut out = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut out).expect("parsed data emits");
        assert_eq!(PrInRepr::parse_bytes(action, &out[..n]).expect("re-parses"), r);
    }
    if let Ok(p) = PrOutParams::parse_bytes(rest) {
        let mut out = vec![0u8; p.buffer_len()];
        let n = p.emit(&mut out).expect("parsed list emits");
        assert_eq!(PrOutParams::parse_bytes(&out[..n]).expect("re-parses"), p);
    }
    if let Ok(p) = RegisterAndMoveParams::parse_bytes(rest) {
        let mut out = vec![0u8; p.buffer_len()];
        let n = p.emit(&mut out).expect("parsed list emits");
        assert_eq!(RegisterAndMoveParams::parse_bytes(&out[..n]).expect("re-parses"), p);
    }
    if let Ok((t, _)) = TransportId::parse_bytes(rest) {
        let mut out = vec![0u8; t.buffer_len()];
        t.emit(&mut out).expect("parsed TransportID emits");
        assert_eq!(TransportId::parse_bytes(&out).expect("re-parses").0, t);
    }
});
