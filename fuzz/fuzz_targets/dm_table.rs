//! dm multipath table lines: no panic; parse -> emit -> parse is stable
//! (the canonical form parses back to the same table and prints the same).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_dm::{target_params, Table};

fuzz_target!(|data: &[u8]| {
    let Ok(line) = core::str::from_utf8(data) else {
        return;
    };
    let _ = target_params(line);
    match Table::parse(line) {
        Ok(t) => {
            let once = t.to_string();
            let back = Table::parse(&once).expect("the canonical form parses");
            assert_eq!(back.to_string(), once);
            assert_eq!(back.paths(), t.paths());
            assert_eq!(back.initial_group(), t.initial_group());
            assert_eq!(back.features, t.features);
        }
        Err(e) => {
            // The error names a whole word of the line, or its end.
            assert!(e.offset <= line.len());
            assert_eq!(&line.as_bytes()[e.offset..e.offset + e.word.len()], e.word.as_bytes());
        }
    }
});
