use super::*;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

/// A regular report: generation 7, Write Exclusive held by the second of two
/// registrants, PTPLS set.
fn regular() -> Vec<u8> {
    let mut b = vec![0u8; 24];
    b[0..4].copy_from_slice(&7u32.to_le_bytes());
    b[4] = 1;
    b[5..7].copy_from_slice(&2u16.to_le_bytes());
    b[9] = 1;
    for (cntlid, rcsts, hostid, rkey) in [(1u16, 0u8, 0x11u8, 0xAAu64), (2, 1, 0x22, 0xBB)] {
        let mut r = [0u8; 24];
        r[0..2].copy_from_slice(&cntlid.to_le_bytes());
        r[2] = rcsts;
        r[8..16].fill(hostid);
        r[16..24].copy_from_slice(&rkey.to_le_bytes());
        b.extend_from_slice(&r);
    }
    b
}

#[test]
fn parses_regular_report() {
    let buf = regular();
    let report = ResvReport::new_checked(&buf[..], Format::Regular).unwrap();
    assert_eq!(
        report.header(),
        ResvReportHeader {
            generation: 7,
            rtype: Some(ReservationType::WriteExclusive),
            regctl: 2,
            ptpls: true
        }
    );
    let regs: Vec<_> = report.registrants().collect();
    assert_eq!(regs.len(), 2);
    assert_eq!(regs[0].cntlid, 1);
    assert!(!regs[0].holds_reservation);
    assert_eq!(
        regs[0].hostid,
        [0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    assert_eq!(regs[0].rkey, 0xAA);
    assert_eq!(report.holder().map(|r| r.rkey), Some(0xBB));
    assert!(!report.is_truncated());
    let mut host = [0u8; 16];
    host[..8].fill(0x22);
    assert_eq!(report.find_host(&host).map(|r| r.cntlid), Some(2));
}

#[test]
fn parses_extended_report() {
    let mut b = [0u8; 64 + 64];
    b[0..4].copy_from_slice(&9u32.to_le_bytes());
    b[4] = 6;
    b[5] = 1;
    b[64] = 0xFF;
    b[65] = 0xFF;
    b[66] = 0x01;
    b[72..80].copy_from_slice(&0x1234u64.to_le_bytes());
    for (i, byte) in b[80..96].iter_mut().enumerate() {
        *byte = u8::try_from(i).unwrap();
    }
    let report = ResvReport::new_checked(&b[..], Format::Extended).unwrap();
    assert_eq!(
        report.header().rtype,
        Some(ReservationType::ExclusiveAccessAllRegistrants)
    );
    let r = report.registrants().next().unwrap();
    assert_eq!(r.cntlid, 0xFFFF);
    assert!(r.holds_reservation);
    assert_eq!(r.rkey, 0x1234);
    assert_eq!(r.hostid, core::array::from_fn(|i| u8::try_from(i).unwrap()));
    // The same bytes read as the regular format put RKEY where HOSTID is.
    let regular = ResvReport::new_checked(&b[..], Format::Regular).unwrap();
    assert_eq!(regular.registrants().count(), 1);
}

#[test]
fn truncated_transfers_list_what_is_there() {
    let mut buf = regular();
    buf[5] = 5; // REGCTL says five; two are present.
    let report = ResvReport::new_checked(&buf[..], Format::Regular).unwrap();
    assert_eq!(report.present(), 2);
    assert!(report.is_truncated());
    // Half a registrant is not a registrant.
    let report = ResvReport::new_checked(&buf[..24 + 30], Format::Regular).unwrap();
    assert_eq!(report.registrants().count(), 1);
    // REGCTL smaller than the buffer: trailing bytes are not registrants.
    buf[5] = 1;
    let report = ResvReport::new_checked(&buf[..], Format::Regular).unwrap();
    assert_eq!(report.registrants().count(), 1);
}

#[test]
fn rejects_short_header_and_bad_rtype() {
    let mut buf = regular();
    assert_eq!(
        ResvReport::new_checked(&buf[..23], Format::Regular).map(|_| ()),
        Err(Error::Truncated {
            field: "Reservation Status header",
            offset: 0,
            needed: 24
        })
    );
    assert!(ResvReport::new_checked(&buf[..63], Format::Extended).is_err());
    buf[4] = 7;
    assert_eq!(
        ResvReport::new_checked(&buf[..], Format::Regular).map(|_| ()),
        Err(Error::Invalid {
            field: "RTYPE",
            offset: 4,
            value: 7
        })
    );
}

#[test]
fn emit_matches_hand_built_bytes_and_checks_hostid() {
    let buf = regular();
    let report = ResvReport::new_checked(&buf[..], Format::Regular).unwrap();
    let regs: Vec<_> = report.registrants().collect();
    let repr = ResvReportRepr {
        format: Format::Regular,
        header: report.header(),
        registrants: &regs,
    };
    let mut out = vec![0xEEu8; repr.buffer_len()];
    repr.emit(&mut out).unwrap();
    assert_eq!(out, buf);
    let long = RegisteredController {
        hostid: [1; 16],
        ..regs[0]
    };
    assert!(matches!(
        long.emit(&mut [0u8; 24], Format::Regular),
        Err(Error::Overflow {
            field: "HOSTID",
            ..
        })
    ));
    assert_eq!(long.emit(&mut [0u8; 64], Format::Extended), Ok(()));
    let too_many = ResvReportRepr {
        header: ResvReportHeader {
            regctl: 1,
            ..report.header()
        },
        ..repr
    };
    assert!(too_many.emit(&mut out).is_err());
}

fn arb_format() -> impl Strategy<Value = Format> {
    prop_oneof![Just(Format::Regular), Just(Format::Extended)]
}

fn arb_registrant(format: Format) -> impl Strategy<Value = RegisteredController> {
    (any::<u16>(), any::<bool>(), any::<[u8; 16]>(), any::<u64>()).prop_map(
        move |(cntlid, holds, mut hostid, rkey)| {
            if format == Format::Regular {
                hostid[8..].fill(0);
            }
            RegisteredController {
                cntlid,
                holds_reservation: holds,
                hostid,
                rkey,
            }
        },
    )
}

proptest! {
    #[test]
    fn emit_parse_round_trips(
        (format, registrants) in arb_format().prop_flat_map(|f| (Just(f), prop::collection::vec(arb_registrant(f), 0..5))),
        generation: u32,
        rtype in 0u8..7,
        extra in 0u16..3,
        ptpls: bool,
    ) {
        let header = ResvReportHeader {
            generation,
            rtype: ReservationType::from_code(rtype),
            regctl: u16::try_from(registrants.len()).unwrap() + extra,
            ptpls,
        };
        let repr = ResvReportRepr { format, header, registrants: &registrants };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut buf).unwrap();
        let report = ResvReport::new_checked(&buf[..], format).unwrap();
        prop_assert_eq!(report.header(), header);
        prop_assert_eq!(report.registrants().collect::<Vec<_>>(), registrants);
        prop_assert_eq!(report.is_truncated(), extra > 0);
    }

    #[test]
    fn random_bytes_never_panic_and_reemit_stably(bytes in prop::collection::vec(any::<u8>(), 0..300), format in arb_format()) {
        if let Ok(report) = ResvReport::new_checked(&bytes[..], format) {
            let regs: Vec<_> = report.registrants().collect();
            prop_assert_eq!(regs.len(), report.present());
            let repr = ResvReportRepr { format, header: report.header(), registrants: &regs };
            let mut out = vec![0u8; repr.buffer_len()];
            repr.emit(&mut out).unwrap();
            let again = ResvReport::new_checked(&out[..], format).unwrap();
            prop_assert_eq!(again.header(), report.header());
            prop_assert_eq!(again.registrants().collect::<Vec<_>>(), regs);
        }
    }
}
