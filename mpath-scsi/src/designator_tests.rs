use super::*;
use crate::error::WireErrorKind;
use proptest::prelude::*;

use alloc::vec::Vec;

const NAA6: [u8; 16] = [
    0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12,
];

/// A page 83h shaped like a Linux LIO target's: NAA 6h and T10 vendor ID for
/// the logical unit; relative target port, target port group and SCSI name
/// for the iSCSI target port.
fn lio_page() -> Vec<u8> {
    let mut p = alloc::vec![0x00, 0x83, 0x00, 0x00];
    p.extend_from_slice(&[0x01, 0x03, 0x00, 16]);
    p.extend_from_slice(&NAA6);
    p.extend_from_slice(&[0x02, 0x01, 0x00, 12]);
    p.extend_from_slice(b"LIO-ORG abcd");
    p.extend_from_slice(&[0x51, 0x94, 0x00, 4, 0, 0, 0, 2]); // PIV, iSCSI, target port, rel port 2
    p.extend_from_slice(&[0x51, 0x95, 0x00, 4, 0, 0, 0, 7]); // TPG 7
    p.extend_from_slice(&[0x53, 0xA8, 0x00, 12]);
    p.extend_from_slice(b"iqn.x,t,0x1\0");
    let len = (p.len() - 4) as u16;
    p[2..4].copy_from_slice(&len.to_be_bytes());
    p
}

#[test]
fn lio_page_designators() {
    let b = lio_page();
    let r = DeviceIdRepr::parse_bytes(&b).unwrap();
    let d: Vec<_> = r.designations.iter().collect();
    assert_eq!(d.len(), 5);
    assert_eq!(d[0].code_set, CodeSet::Binary);
    assert_eq!(d[0].association, Association::LogicalUnit);
    assert_eq!(d[0].designator, Designator::Naa(&NAA6));
    assert_eq!(d[1].designator, Designator::T10VendorId(b"LIO-ORG abcd"));
    assert_eq!(d[2].protocol(), Some(ProtocolId::ISCSI));
    assert_eq!(d[0].protocol(), None);
    assert_eq!(d[2].association, Association::TargetPort);
    assert_eq!(d[4].designator.scsi_name(), Some(&b"iqn.x,t,0x1"[..]));
    assert_eq!(d[4].code_set, CodeSet::Utf8);
    assert_eq!(
        r.lu_designator().map(|d| d.designator),
        Some(Designator::Naa(&NAA6))
    );
    assert_eq!(r.relative_target_port(), Some(2));
    assert_eq!(r.target_port_group(), Some(7));
    assert_eq!(r.logical_unit_group(), None);
    let mut out = [0u8; 128];
    let n = r.emit(&mut out).unwrap();
    assert_eq!(&out[..n], &b[..]);
}

fn desc(code_set: u8, b1: u8, body: &[u8]) -> Vec<u8> {
    let mut v = alloc::vec![code_set, b1, 0, body.len() as u8];
    v.extend_from_slice(body);
    v
}

fn page(descs: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = descs.concat();
    let mut p = alloc::vec![0, 0x83];
    p.extend_from_slice(&(body.len() as u16).to_be_bytes());
    p.extend(body);
    p
}

#[test]
fn preferred_lu_designator_order() {
    let eui16 = desc(1, 0x02, &[1; 16]);
    let eui8 = desc(1, 0x02, &[2; 8]);
    let naa5 = desc(1, 0x03, &[0x50, 0, 0, 0, 0, 0, 0, 1]);
    let naa3 = desc(1, 0x03, &[0x30, 0, 0, 0, 0, 0, 0, 1]);
    let name = desc(3, 0x08, b"naa.1234\0\0\0\0");
    let t10 = desc(2, 0x01, b"VENDOR  x");
    let port_naa = desc(1, 0x13, &[0x50, 0, 0, 0, 0, 0, 0, 9]); // association: target port
    let cases: &[(&[&Vec<u8>], Option<u8>)] = &[
        (&[&t10, &name, &eui8, &naa5], Some(0x50)),
        (&[&naa3, &naa5], Some(0x50)),
        (&[&eui8, &eui16, &t10], Some(1)),
        (&[&t10, &name], Some(b'n')),
        (&[&t10], Some(b'V')),
        (&[&port_naa], None),
        (&[], None),
    ];
    for (descs, first_byte) in cases {
        let descs: Vec<Vec<u8>> = descs.iter().map(|d| (*d).clone()).collect();
        let p = page(&descs);
        let r = DeviceIdRepr::parse_bytes(&p).unwrap();
        let got = r.lu_designator().map(|d| match d.designator {
            Designator::Naa(b)
            | Designator::Eui64(b)
            | Designator::T10VendorId(b)
            | Designator::ScsiNameString(b) => b[0],
            _ => 0,
        });
        assert_eq!(got, *first_byte, "{descs:02x?}");
    }
}

#[test]
fn designator_rules_per_type() {
    type Expect = Result<Designator<'static>, (WireErrorKind, &'static str, usize)>;
    let cases: &[(Vec<u8>, Expect)] = &[
        (desc(1, 0x02, &[0; 12]), Ok(Designator::Eui64(&[0; 12]))),
        (
            desc(1, 0x02, &[0; 10]),
            Err((WireErrorKind::LengthMismatch, "DESIGNATOR LENGTH", 8)),
        ),
        (
            desc(1, 0x03, &[0x60; 8]),
            Err((WireErrorKind::LengthMismatch, "DESIGNATOR LENGTH", 8)),
        ),
        (desc(1, 0x03, &[0x20; 8]), Ok(Designator::Naa(&[0x20; 8]))),
        (
            desc(1, 0x03, &[0x10; 8]),
            Err((WireErrorKind::Reserved, "NAA", 8)),
        ),
        (
            desc(1, 0x03, &[]),
            Err((WireErrorKind::Truncated, "NAA", 8)),
        ),
        (
            desc(1, 0x14, &[0, 0, 1, 2]),
            Ok(Designator::RelativeTargetPort(0x0102)),
        ),
        (
            desc(1, 0x15, &[0, 0, 0]),
            Err((WireErrorKind::LengthMismatch, "DESIGNATOR LENGTH", 8)),
        ),
        (
            desc(1, 0x06, &[0, 0, 0, 9]),
            Ok(Designator::LogicalUnitGroup(9)),
        ),
        (
            desc(1, 0x14, &[1, 0, 0, 9]),
            Err((WireErrorKind::Reserved, "reserved", 8)),
        ),
        (desc(1, 0x07, &[5; 16]), Ok(Designator::Md5(&[5; 16]))),
        (
            desc(3, 0x08, b"abc"),
            Err((WireErrorKind::LengthMismatch, "DESIGNATOR LENGTH", 8)),
        ),
        (
            desc(3, 0x08, b"abcd"),
            Err((WireErrorKind::LengthMismatch, "DESIGNATOR LENGTH", 8)),
        ),
        (
            desc(1, 0x0A, &[[0x10, 0].as_slice(), &[7; 16]].concat()),
            Ok(Designator::Uuid(&[7; 16])),
        ),
        (
            desc(1, 0x0A, &[[0x20, 0].as_slice(), &[7; 16]].concat()),
            Err((WireErrorKind::Reserved, "UUID TYPE", 8)),
        ),
        (
            desc(1, 0x0B, &[1]),
            Ok(Designator::Reserved {
                designator_type: 0xB,
                bytes: &[1],
            }),
        ),
        (
            desc(1, 0x01, b"SHORT"),
            Err((WireErrorKind::LengthMismatch, "DESIGNATOR LENGTH", 8)),
        ),
        (
            desc(0, 0x00, &[]),
            Err((WireErrorKind::Reserved, "CODE SET", 4)),
        ),
        (
            desc(1, 0x30, &[]),
            Err((WireErrorKind::Reserved, "ASSOCIATION", 5)),
        ),
        (
            desc(1, 0x40, &[]),
            Err((WireErrorKind::Reserved, "reserved", 5)),
        ),
    ];
    for (d, want) in cases {
        let p = page(core::slice::from_ref(d));
        let got =
            DeviceIdRepr::parse_bytes(&p).map(|r| r.designations.iter().next().unwrap().designator);
        let want = want.map_err(|(k, f, o)| WireError::new(k, f, o));
        assert_eq!(got, want, "{d:02x?}");
    }
    // A descriptor running past PAGE LENGTH.
    let mut p = page(&[desc(1, 0x03, &[0x50; 8])]);
    p[7] = 9;
    p.push(0);
    assert_eq!(
        DeviceIdRepr::parse_bytes(&p[..p.len() - 1]).unwrap_err(),
        WireError::truncated("DESIGNATOR LENGTH", 7)
    );
}

#[test]
fn emit_refuses_invalid_designators() {
    let r = DeviceIdRepr {
        peripheral: Peripheral::DISK,
        designations: List::Items(&[Designation {
            piv: false,
            protocol_id: ProtocolId::FCP,
            code_set: CodeSet::Binary,
            association: Association::LogicalUnit,
            designator: Designator::Naa(&[0x50; 9]),
        }]),
    };
    let mut out = [0u8; 32];
    assert_eq!(
        r.emit(&mut out).unwrap_err(),
        WireError::out_of_range("DESIGNATOR LENGTH", 8)
    );
}

fn designator() -> impl Strategy<Value = (u8, Vec<u8>)> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..20).prop_map(|b| (0u8, b)),
        proptest::collection::vec(any::<u8>(), 8..20).prop_map(|b| (1, b)),
        prop_oneof![Just(8usize), Just(12), Just(16)]
            .prop_flat_map(|n| proptest::collection::vec(any::<u8>(), n))
            .prop_map(|b| (2, b)),
        (
            prop_oneof![Just(0x20u8), Just(0x30), Just(0x50)],
            proptest::collection::vec(any::<u8>(), 7)
        )
            .prop_map(|(h, t)| (3, [alloc::vec![h], t].concat())),
        proptest::collection::vec(any::<u8>(), 15)
            .prop_map(|t| (3, [alloc::vec![0x6F], t].concat())),
        (4u8..7, any::<u16>())
            .prop_map(|(t, v)| (t, [alloc::vec![0, 0], v.to_be_bytes().to_vec()].concat())),
        proptest::collection::vec(any::<u8>(), 16).prop_map(|b| (7, b)),
        proptest::collection::vec(1u8..=255, 0..11).prop_map(|mut b| {
            b.push(0);
            while b.len() % 4 != 0 {
                b.push(0);
            }
            (8, b)
        }),
        proptest::collection::vec(any::<u8>(), 16)
            .prop_map(|b| (0xA, [alloc::vec![0x10, 0], b].concat())),
    ]
}

proptest! {
    #[test]
    fn page_round_trips(ds in proptest::collection::vec((designator(), 1u8..4, 0u8..3, any::<bool>(), 0u8..16), 0..6)) {
        let descs: Vec<Vec<u8>> = ds
            .iter()
            .map(|((t, body), cs, assoc, piv, proto)| {
                let b0 = proto << 4 | cs;
                let b1 = if *piv { 0x80 } else { 0 } | assoc << 4 | t;
                desc(b0, b1, body)
            })
            .collect();
        let p = page(&descs);
        let r = DeviceIdRepr::parse_bytes(&p).unwrap();
        prop_assert_eq!(r.designations.len(), ds.len());
        let mut out = [0u8; 512];
        let n = r.emit(&mut out).unwrap();
        prop_assert_eq!(&out[..n], &p[..]);
        // And from values: copy the parsed descriptors into a slice.
        let items: Vec<Designation<'_>> = r.designations.iter().collect();
        let again = DeviceIdRepr { peripheral: r.peripheral, designations: List::Items(&items) };
        prop_assert_eq!(again, r);
        let mut out2 = [0u8; 512];
        prop_assert_eq!(again.emit(&mut out2).unwrap(), n);
        prop_assert_eq!(&out2[..n], &p[..]);
    }

    #[test]
    fn random_pages_never_panic(b in proptest::collection::vec(any::<u8>(), 0..80)) {
        let mut b = b;
        if b.len() > 4 { b[1] = 0x83; let l = (b.len() - 4) as u16; b[2..4].copy_from_slice(&l.to_be_bytes()); }
        if let Ok(r) = DeviceIdRepr::parse_bytes(&b) {
            let _ = (r.lu_designator(), r.relative_target_port(), r.target_port_group());
            let mut out = [0u8; 128];
            let n = r.emit(&mut out).unwrap();
            prop_assert_eq!(&out[..n], &b[..n]);
        }
    }
}
