//! Reservation report, notification log and reservation commands: parsing
//! never panics, and whatever parses re-emits stably.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_nvme::reservation::{ReservationAcquire, ReservationRegister, ReservationRelease};
use mpath_nvme::resv_notification::ResvNotificationRepr;
use mpath_nvme::resv_report::{Format, RegisteredController, ResvReport, ResvReportRepr};

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let format = if flags & 1 != 0 {
        Format::Extended
    } else {
        Format::Regular
    };
    if let Ok(report) = ResvReport::new_checked(body, format) {
        let regs: Vec<RegisteredController> = report.registrants().collect();
        assert_eq!(regs.len(), report.present());
        let repr = ResvReportRepr {
            format,
            header: report.header(),
            registrants: &regs,
        };
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut out).expect("emit into buffer_len bytes");
        let again = ResvReport::new_checked(&out[..], format).expect("re-emitted report parses");
        assert_eq!(again.header(), report.header());
        assert!(again.registrants().eq(regs.iter().copied()));
        assert_eq!(again.is_truncated(), report.is_truncated());
    }
    if let Ok(page) = ResvNotificationRepr::parse(body) {
        let mut out = [0u8; 64];
        page.emit(&mut out).expect("64 bytes");
        assert_eq!(ResvNotificationRepr::parse(&out), Ok(page));
    }
    // Commands: CDW10 from the first four bytes, data after.
    if let Some((cdw10, keys)) = body.split_first_chunk::<4>() {
        let cdw10 = u32::from_le_bytes(*cdw10);
        if let Ok(cmd) = ReservationRegister::parse(cdw10, keys) {
            let mut out = [0u8; 16];
            cmd.emit_data(&mut out).expect("16 bytes");
            assert_eq!(ReservationRegister::parse(cmd.cdw10(), &out), Ok(cmd));
        }
        if let Ok(cmd) = ReservationAcquire::parse(cdw10, keys) {
            let mut out = [0u8; 16];
            cmd.emit_data(&mut out).expect("16 bytes");
            assert_eq!(ReservationAcquire::parse(cmd.cdw10(), &out), Ok(cmd));
        }
        if let Ok(cmd) = ReservationRelease::parse(cdw10, keys) {
            let mut out = [0u8; 8];
            cmd.emit_data(&mut out).expect("8 bytes");
            assert_eq!(ReservationRelease::parse(cmd.cdw10(), &out), Ok(cmd));
        }
    }
});
