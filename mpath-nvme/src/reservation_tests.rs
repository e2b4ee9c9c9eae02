use super::*;
use proptest::prelude::*;

#[test]
fn register_dwords_and_data() {
    // (command, CDW10): RREGA 2:0, IEKEY 3, CPTPL 31:30.
    let reg = |action, iekey, cptpl| ReservationRegister {
        action,
        iekey,
        cptpl,
        crkey: 0x0102_0304_0506_0708,
        nrkey: 0x1112_1314_1516_1718,
    };
    let table = [
        (
            reg(RegisterAction::Register, false, Cptpl::NoChange),
            0x0000_0000,
        ),
        (
            reg(RegisterAction::Unregister, false, Cptpl::NoChange),
            0x0000_0001,
        ),
        (
            reg(RegisterAction::Replace, true, Cptpl::NoChange),
            0x0000_000A,
        ),
        (
            reg(RegisterAction::Register, true, Cptpl::Persist),
            0xC000_0008,
        ),
        (
            reg(RegisterAction::Register, false, Cptpl::Clear),
            0x8000_0000,
        ),
    ];
    for (cmd, cdw10) in table {
        assert_eq!(cmd.cdw10(), cdw10, "{cmd:?}");
        let mut data = [0u8; ReservationRegister::DATA_LEN];
        cmd.emit_data(&mut data).unwrap();
        assert_eq!(&data[..8], &[8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(
            &data[8..],
            &[0x18, 0x17, 0x16, 0x15, 0x14, 0x13, 0x12, 0x11]
        );
        assert_eq!(ReservationRegister::parse(cdw10, &data), Ok(cmd));
    }
    assert_eq!(ReservationRegister::OPCODE, 0x0D);
}

#[test]
fn acquire_and_release_dwords() {
    let acq = ReservationAcquire {
        action: AcquireAction::PreemptAndAbort,
        iekey: false,
        rtype: ReservationType::ExclusiveAccessAllRegistrants,
        crkey: 1,
        prkey: 2,
    };
    assert_eq!(acq.cdw10(), 0x0000_0602);
    let mut data = [0u8; 16];
    acq.emit_data(&mut data).unwrap();
    assert_eq!(data, [1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(ReservationAcquire::parse(0x602, &data), Ok(acq));
    let rel = ReservationRelease {
        action: ReleaseAction::Release,
        iekey: true,
        rtype: Some(ReservationType::WriteExclusiveRegistrantsOnly),
        crkey: 0xAB,
    };
    assert_eq!(rel.cdw10(), 0x0000_0308);
    let clear = ReservationRelease {
        action: ReleaseAction::Clear,
        rtype: None,
        ..rel
    };
    assert_eq!(clear.cdw10(), 0x0000_0009);
    assert_eq!(
        (ReservationAcquire::OPCODE, ReservationRelease::OPCODE),
        (0x11, 0x15)
    );
}

#[test]
fn report_dwords() {
    let r = ReservationReport::new(4096, true).unwrap();
    assert_eq!((r.cdw10(), r.cdw11(), r.transfer_len()), (1023, 1, 4096));
    assert_eq!(ReservationReport::parse(1023, 0xFFFF_FFFF), r);
    assert!(ReservationReport::new(6, false).is_err());
    assert!(ReservationReport::new(0, false).is_err());
    assert_eq!(ReservationReport::OPCODE, 0x0E);
}

#[test]
fn rejects_bad_fields() {
    let data = [0u8; 16];
    let table: [(Result<()>, &str, u64); 7] = [
        (ReservationRegister::parse(3, &data).map(|_| ()), "RREGA", 3),
        (
            ReservationRegister::parse(1 << 30, &data).map(|_| ()),
            "CPTPL",
            1,
        ),
        (
            ReservationAcquire::parse(0x103, &data).map(|_| ()),
            "RACQA",
            3,
        ),
        (
            ReservationAcquire::parse(0x000, &data).map(|_| ()),
            "RTYPE",
            0,
        ),
        (
            ReservationAcquire::parse(0x700, &data).map(|_| ()),
            "RTYPE",
            7,
        ),
        (ReservationRelease::parse(2, &data).map(|_| ()), "RRELA", 2),
        (
            ReservationRelease::parse(0xFF00, &data).map(|_| ()),
            "RTYPE",
            0xFF,
        ),
    ];
    for (got, field, value) in table {
        assert_eq!(
            got,
            Err(Error::Invalid {
                field,
                offset: 0,
                value
            })
        );
    }
    assert_eq!(
        ReservationRegister::parse(0, &data[..15]),
        Err(Error::Truncated {
            field: "NRKEY",
            offset: 8,
            needed: 8
        })
    );
    assert_eq!(
        ReservationRelease {
            action: ReleaseAction::Clear,
            iekey: false,
            rtype: None,
            crkey: 0
        }
        .emit_data(&mut [0u8; 7]),
        Err(Error::BufferTooSmall {
            needed: 8,
            available: 7
        })
    );
}

#[test]
fn reservation_type_codes() {
    for (i, t) in ReservationType::ALL.iter().enumerate() {
        assert_eq!(usize::from(t.code()), i + 1);
        assert_eq!(ReservationType::from_code(t.code()), Some(*t));
    }
    assert_eq!(ReservationType::from_code(0), None);
    assert_eq!(ReservationType::from_code(7), None);
}

fn arb_rtype() -> impl Strategy<Value = ReservationType> {
    prop::sample::select(ReservationType::ALL.to_vec())
}

proptest! {
    #[test]
    fn register_round_trips(action in 0u32..3, iekey: bool, cptpl in prop::sample::select(&[0u32, 2, 3][..]), crkey: u64, nrkey: u64) {
        let cdw10 = action | (u32::from(iekey) << 3) | (cptpl << 30);
        let mut data = [0u8; 16];
        data[..8].copy_from_slice(&crkey.to_le_bytes());
        data[8..].copy_from_slice(&nrkey.to_le_bytes());
        let cmd = ReservationRegister::parse(cdw10, &data).unwrap();
        prop_assert_eq!(cmd.cdw10(), cdw10);
        let mut out = [0u8; 16];
        cmd.emit_data(&mut out).unwrap();
        prop_assert_eq!(out, data);
    }

    #[test]
    fn acquire_release_round_trip(action in 0u8..3, iekey: bool, rtype in arb_rtype(), crkey: u64, prkey: u64) {
        let acq = ReservationAcquire {
            action: AcquireAction::from_cdw10(u32::from(action)).unwrap(),
            iekey, rtype, crkey, prkey,
        };
        let mut data = [0u8; 16];
        acq.emit_data(&mut data).unwrap();
        prop_assert_eq!(ReservationAcquire::parse(acq.cdw10(), &data), Ok(acq));
        let rel = ReservationRelease {
            action: ReleaseAction::from_cdw10(u32::from(action % 2)).unwrap(),
            iekey,
            rtype: if action == 2 { None } else { Some(rtype) },
            crkey,
        };
        rel.emit_data(&mut data).unwrap();
        prop_assert_eq!(ReservationRelease::parse(rel.cdw10(), &data), Ok(rel));
    }

    #[test]
    fn any_dword_parses_stably(cdw10: u32, data: [u8; 16]) {
        if let Ok(cmd) = ReservationRegister::parse(cdw10, &data) {
            prop_assert_eq!(ReservationRegister::parse(cmd.cdw10(), &data), Ok(cmd));
        }
        if let Ok(cmd) = ReservationAcquire::parse(cdw10, &data) {
            prop_assert_eq!(ReservationAcquire::parse(cmd.cdw10(), &data), Ok(cmd));
        }
        if let Ok(cmd) = ReservationRelease::parse(cdw10, &data) {
            prop_assert_eq!(ReservationRelease::parse(cmd.cdw10(), &data), Ok(cmd));
        }
    }
}
