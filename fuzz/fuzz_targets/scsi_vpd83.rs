//! VPD pages 83h and 00h: no panic; parse -> emit reproduces the page.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_scsi::{DeviceIdRepr, SupportedPagesRepr};

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = DeviceIdRepr::parse_bytes(data) {
        let _ = (r.lu_designator(), r.relative_target_port(), r.target_port_group(), r.logical_unit_group());
        for d in r.designations.iter() {
            let _ = (d.protocol(), d.designator.scsi_name(), d.designator.len());
        }
        let mut out = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut out).expect("parsed page emits");
        // Every field of page 83h is kept or must be zero, so it is canonical.
        assert_eq!(out[..n], data[..n]);
        assert_eq!(DeviceIdRepr::parse_bytes(&out[..n]).expect("re-parses"), r);
    }
    if let Ok(r) = SupportedPagesRepr::parse_bytes(data) {
        let mut out = vec![0u8; r.buffer_len()];
        let n = r.emit(&mut out).expect("parsed page emits");
        assert_eq!(out[..n], data[..n]);
    }
});
