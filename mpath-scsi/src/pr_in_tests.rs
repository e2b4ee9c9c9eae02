use super::*;
use crate::error::WireErrorKind;
use proptest::prelude::*;

use alloc::vec::Vec;

fn emit(r: &PrInRepr<'_>) -> Vec<u8> {
    let mut out = [0u8; 512];
    let n = r.emit(&mut out).unwrap();
    assert_eq!(n, r.buffer_len());
    out[..n].to_vec()
}

#[test]
fn read_keys() {
    let b = [
        0, 0, 0, 7, 0, 0, 0, 16, 0, 0, 0, 0, 0, 0, 0xAB, 0xCD, 0x12, 0x34, 0, 0, 0, 0, 0, 1,
    ];
    let r = PrInRepr::parse_bytes(PrInAction::ReadKeys, &b).unwrap();
    let PrInRepr::ReadKeys { generation, keys } = r else {
        panic!("{r:?}")
    };
    assert_eq!(generation, 7);
    assert_eq!(
        keys.iter().collect::<Vec<_>>(),
        [0xABCD, 0x1234_0000_0000_0001]
    );
    assert_eq!(emit(&r), b);
    // Cut by a small allocation length: say how much is needed.
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReadKeys, &b[..16]).unwrap_err(),
        WireError::truncated("ADDITIONAL LENGTH", 4)
    );
    assert_eq!(
        PrIn::<&[u8]>::required_len(&b[..16], PrInAction::ReadKeys),
        Ok(24)
    );
    let mut odd = b;
    odd[7] = 12;
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReadKeys, &odd[..20]).unwrap_err(),
        WireError::mismatch("ADDITIONAL LENGTH", 4)
    );
}

#[test]
fn read_reservation() {
    let none = [0, 0, 0, 3, 0, 0, 0, 0];
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReadReservation, &none).unwrap(),
        PrInRepr::ReadReservation {
            generation: 3,
            reservation: None
        }
    );
    let mut held = [0u8; 24];
    held[3] = 4;
    held[7] = 0x10;
    held[15] = 0x42;
    held[21] = 0x05;
    let r = PrInRepr::parse_bytes(PrInAction::ReadReservation, &held).unwrap();
    assert_eq!(
        r,
        PrInRepr::ReadReservation {
            generation: 4,
            reservation: Some(Reservation {
                key: 0x42,
                pr_type: PrType::WriteExclusiveRegistrantsOnly
            })
        }
    );
    assert_eq!(emit(&r), held);
    let mut bad = held;
    bad[21] = 0x02; // obsolete type
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReadReservation, &bad).unwrap_err(),
        WireError::reserved("TYPE", 21)
    );
    let mut bad = held;
    bad[21] = 0x00; // a reservation needs a type
    assert!(PrInRepr::parse_bytes(PrInAction::ReadReservation, &bad).is_err());
    let mut bad = held;
    bad[7] = 8;
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReadReservation, &bad).unwrap_err(),
        WireError::mismatch("ADDITIONAL LENGTH", 4)
    );
}

#[test]
fn report_capabilities() {
    // LIO: CRH, SIP_C, ATP_C, PTPL_C; TMV, ALLOW COMMANDS 001b, PTPL_A; all
    // six types.
    let b = [0, 8, 0x1D, 0x91, 0xEA, 0x01, 0, 0];
    let r = PrInRepr::parse_bytes(PrInAction::ReportCapabilities, &b).unwrap();
    let PrInRepr::ReportCapabilities(c) = r else {
        panic!("{r:?}")
    };
    assert!(!c.rlr_c && c.crh && c.sip_c && c.atp_c && c.ptpl_c);
    assert!(c.tmv && c.ptpl_a);
    assert_eq!(c.allow_commands, 1);
    for t in PrType::ALL {
        assert!(c.types.supports(t), "{t:?}");
    }
    assert_eq!(emit(&r), b);
    let only_we = PrTypeMask::of(PrType::WriteExclusive);
    assert!(only_we.supports(PrType::WriteExclusive) && !only_we.supports(PrType::ExclusiveAccess));
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReportCapabilities, &[0, 9, 0, 0, 0, 0, 0, 0])
            .unwrap_err(),
        WireError::mismatch("LENGTH", 0)
    );
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReportCapabilities, &b[..7]).unwrap_err(),
        WireError::truncated("LENGTH", 0)
    );
}

#[test]
fn read_full_status() {
    let regs = [
        FullStatus {
            key: 0x1111,
            all_tg_pt: false,
            r_holder: true,
            pr_type: Some(PrType::WriteExclusiveAllRegistrants),
            relative_target_port: 1,
            transport_id: TransportId::Iscsi {
                name: b"iqn.2004-10.com.example:host-a",
                isid: Some(b"400001370000"),
            },
        },
        FullStatus {
            key: 0x2222,
            all_tg_pt: true,
            r_holder: false,
            pr_type: None,
            relative_target_port: 0,
            transport_id: TransportId::FibreChannel {
                n_port_name: 0x2100_0024_FF00_0001,
            },
        },
    ];
    let r = PrInRepr::ReadFullStatus {
        generation: 9,
        registrations: List::Items(&regs),
    };
    let b = emit(&r);
    // Header, then the first descriptor: key, flags, TYPE, port, length.
    assert_eq!(&b[..8], &[0, 0, 0, 9, 0, 0, 0, (b.len() - 8) as u8]);
    assert_eq!(&b[8..16], &0x1111u64.to_be_bytes());
    assert_eq!((b[20], b[21]), (0x01, 0x07));
    assert_eq!(&b[26..28], &[0, 1]);
    let back = PrInRepr::parse_bytes(PrInAction::ReadFullStatus, &b).unwrap();
    assert_eq!(back, r);
    let PrInRepr::ReadFullStatus { registrations, .. } = back else {
        panic!()
    };
    assert_eq!(registrations.len(), 2);
    // ADDITIONAL DESCRIPTOR LENGTH that disagrees with the TransportID.
    let mut bad = b.clone();
    bad[31] += 4;
    bad.extend_from_slice(&[0; 4]);
    bad[7] += 4;
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReadFullStatus, &bad).unwrap_err(),
        WireError::mismatch("ADDITIONAL DESCRIPTOR LENGTH", 28)
    );
    assert_eq!(
        PrInRepr::parse_bytes(PrInAction::ReadFullStatus, &b[..30])
            .unwrap_err()
            .kind,
        WireErrorKind::Truncated
    );
}

fn pr_type() -> impl Strategy<Value = PrType> {
    (0usize..6).prop_map(|i| PrType::ALL[i])
}

proptest! {
    #[test]
    fn keys_and_reservations_round_trip(
        generation in any::<u32>(),
        keys in proptest::collection::vec(any::<u64>(), 0..10),
        res in proptest::option::of((any::<u64>(), pr_type())),
        caps in (any::<[bool; 7]>(), 0u8..8, any::<u16>()),
    ) {
        let reprs = [
            PrInRepr::ReadKeys { generation, keys: List::Items(&keys) },
            PrInRepr::ReadReservation { generation, reservation: res.map(|(key, pr_type)| Reservation { key, pr_type }) },
            PrInRepr::ReportCapabilities(Capabilities {
                rlr_c: caps.0[0], crh: caps.0[1], sip_c: caps.0[2], atp_c: caps.0[3], ptpl_c: caps.0[4],
                tmv: caps.0[5], ptpl_a: caps.0[6], allow_commands: caps.1,
                types: PrTypeMask::from_bits_truncate(caps.2),
            }),
        ];
        for r in reprs {
            let b = emit(&r);
            prop_assert_eq!(PrInRepr::parse_bytes(r.action(), &b).unwrap(), r);
        }
    }

    #[test]
    fn full_status_round_trips(regs in proptest::collection::vec(
        (any::<u64>(), any::<bool>(), proptest::option::of(pr_type()), any::<u16>(), any::<u64>(), any::<bool>()), 0..5)
    ) {
        let descs: Vec<FullStatus<'_>> = regs.iter().map(|&(key, all_tg_pt, pr_type, port, wwn, sas)| FullStatus {
            key, all_tg_pt, r_holder: pr_type.is_some(), pr_type, relative_target_port: port,
            transport_id: if sas { TransportId::Sas { address: wwn } } else { TransportId::FibreChannel { n_port_name: wwn } },
        }).collect();
        let r = PrInRepr::ReadFullStatus { generation: 1, registrations: List::Items(&descs) };
        let b = emit(&r);
        prop_assert_eq!(PrInRepr::parse_bytes(PrInAction::ReadFullStatus, &b).unwrap(), r);
    }

    #[test]
    fn random_bytes_never_panic_and_reparse_stably(b in proptest::collection::vec(any::<u8>(), 0..96), a in 0u8..4) {
        let action = PrInAction::from_code(a, 0).unwrap();
        if let Ok(r) = PrInRepr::parse_bytes(action, &b) {
            let again = emit(&r);
            prop_assert_eq!(PrInRepr::parse_bytes(action, &again).unwrap(), r);
        }
    }
}
