//! Sense data: no panic on any bytes; parse -> emit -> parse is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_scsi::{Sense, SenseRepr};

fuzz_target!(|data: &[u8]| {
    let strict = Sense::new_checked(data);
    let lenient = Sense::new_truncated(data);
    // Whatever the strict check accepts, the lenient one accepts the same way.
    if let Ok(s) = &strict {
        let l = lenient.as_ref().expect("strict implies lenient");
        assert_eq!(SenseRepr::parse(s), SenseRepr::parse(l));
    }
    for s in [strict, lenient].into_iter().flatten() {
        let r = SenseRepr::parse(&s);
        let _ = (s.descriptors().count(), s.is_truncated(), r.asc_text());
        let mut out = [0u8; 64];
        // Fixed format cannot hold a 64-bit INFORMATION from a descriptor;
        // everything that emits must re-parse to itself and re-emit the same.
        if let Ok(n) = r.emit(&mut out) {
            assert_eq!(n, r.buffer_len());
            let back = SenseRepr::parse_bytes(&out[..n]).expect("emitted sense parses");
            assert_eq!(back, r);
            let mut again = [0u8; 64];
            assert_eq!(back.emit(&mut again), Ok(n));
            assert_eq!(again[..n], out[..n]);
        }
    }
});
