//! REPORT TARGET PORT GROUPS data: no panic; parse -> emit -> parse is stable.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_scsi::{Rtpg, RtpgRepr};

fuzz_target!(|data: &[u8]| {
    let _ = Rtpg::<&[u8]>::required_len(data);
    let Ok(r) = RtpgRepr::parse_bytes(data) else {
        return;
    };
    for g in r.groups.iter() {
        let _ = (g.access(), g.ports.iter().map(|p| p.0).max());
        assert_eq!(r.group(g.group).map(|x| x.group), Some(g.group));
    }
    let mut out = vec![0u8; r.buffer_len()];
    let n = r.emit(&mut out).expect("parsed data emits");
    let back = RtpgRepr::parse_bytes(&out[..n]).expect("emitted data parses");
    assert_eq!(back, r);
    // The descriptors are canonical on the wire except for the obsolete
    // bytes of each port entry, so lengths always agree.
    assert_eq!(n, Rtpg::<&[u8]>::required_len(data).unwrap());
});
