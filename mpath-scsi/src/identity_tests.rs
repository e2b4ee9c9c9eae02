use super::*;
use crate::designator::Association;
use crate::error::WireErrorKind;
use crate::inquiry::Peripheral;
use crate::transport_id::ProtocolId;
use crate::wire::List;
use alloc::string::ToString;

const NAA6: [u8; 16] = [
    0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12,
];

fn inquiry(tpgs: Tpgs) -> InquiryRepr {
    InquiryRepr {
        peripheral: Peripheral::DISK,
        rmb: false,
        version: 6,
        normaca: false,
        hisup: true,
        response_data_format: 2,
        sccs: false,
        acc: false,
        tpgs,
        third_party_copy: false,
        protect: false,
        encserv: false,
        multip: true,
        cmdque: true,
        vendor: *b"LIO-ORG ",
        product: *b"block0          ",
        revision: *b"4.0 ",
    }
}

fn lu(designator: Designator<'_>, code_set: CodeSet) -> Designation<'_> {
    Designation {
        piv: false,
        protocol_id: ProtocolId::FCP,
        code_set,
        association: Association::LogicalUnit,
        designator,
    }
}

fn port(designator: Designator<'_>) -> Designation<'_> {
    Designation {
        piv: true,
        protocol_id: ProtocolId::ISCSI,
        code_set: CodeSet::Binary,
        association: Association::TargetPort,
        designator,
    }
}

/// Page 83h bytes emitted by the crate's own `DeviceIdRepr`.
fn page(ds: &[Designation<'_>]) -> alloc::vec::Vec<u8> {
    let r = DeviceIdRepr {
        peripheral: Peripheral::DISK,
        designations: List::Items(ds),
    };
    let mut b = alloc::vec![0u8; r.buffer_len()];
    r.emit(&mut b).unwrap();
    b
}

fn inquiry_bytes(r: &InquiryRepr) -> [u8; 36] {
    let mut b = [0u8; 36];
    r.emit(&mut b).unwrap();
    b
}

#[test]
fn two_ports_of_one_lu_share_a_name_and_differ_in_group() {
    let inq = inquiry_bytes(&inquiry(Tpgs::Both));
    let a = page(&[
        lu(Designator::Naa(&NAA6), CodeSet::Binary),
        port(Designator::RelativeTargetPort(1)),
        port(Designator::TargetPortGroup(1)),
    ]);
    let b = page(&[
        lu(Designator::T10VendorId(b"LIO-ORG abcd"), CodeSet::Ascii),
        lu(Designator::Naa(&NAA6), CodeSet::Binary),
        port(Designator::RelativeTargetPort(2)),
        port(Designator::TargetPortGroup(2)),
    ]);
    let a = PathIdentity::from_bytes(&inq, &a).unwrap();
    let b = PathIdentity::from_bytes(&inq, &b).unwrap();
    assert_eq!(a.lu, b.lu);
    assert_eq!(a.lu.to_string(), "naa.6001405abcdef0123456789abcdef012");
    assert_eq!(
        (a.relative_target_port, a.target_port_group),
        (Some(1), Some(1))
    );
    assert_eq!(b.group().unwrap(), GroupId(2));
    assert!(a.alua() && a.explicit_alua());
    assert_eq!(a.lu.designator(), Designator::Naa(&NAA6));
    assert_eq!(a.lu.code_set(), CodeSet::Binary);
    assert_eq!(a.lu.designator_type(), 3);

    // Another logical unit on the same target: another name.
    let mut other = NAA6;
    other[15] ^= 1;
    let c = page(&[
        lu(Designator::Naa(&other), CodeSet::Binary),
        port(Designator::TargetPortGroup(1)),
    ]);
    let c = PathIdentity::from_bytes(&inq, &c).unwrap();
    assert_ne!(c.lu, a.lu);
}

#[test]
fn names_display_as_linux_wwids() {
    let inq = inquiry(Tpgs::NotSupported);
    let cases: &[(Designation<'_>, &str)] = &[
        (
            lu(
                Designator::Eui64(&[0x00, 0x14, 0x05, 0, 0, 0, 0, 0xab]),
                CodeSet::Binary,
            ),
            "eui.00140500000000ab",
        ),
        (
            lu(Designator::T10VendorId(b"LIO-ORG \x01x"), CodeSet::Ascii),
            "t10.LIO-ORG \\x01x",
        ),
        (
            lu(
                Designator::ScsiNameString(b"iqn.2003-01.org:t1\0\0"),
                CodeSet::Utf8,
            ),
            "iqn.2003-01.org:t1",
        ),
    ];
    for (d, want) in cases {
        let b = page(core::slice::from_ref(d));
        let vpd = DeviceIdRepr::parse_bytes(&b).unwrap();
        let id = PathIdentity::new(&inq, &vpd).unwrap();
        assert_eq!(id.lu.to_string(), *want);
        assert_eq!(
            alloc::format!("{:?}", id.lu),
            alloc::format!("LuName(\"{want}\")")
        );
        assert_eq!(id.lu.designator(), d.designator);
    }
}

#[test]
fn groups_and_specs() {
    let naa = lu(Designator::Naa(&NAA6), CodeSet::Binary);
    let with_tpg = page(&[naa, port(Designator::TargetPortGroup(7))]);
    let without = page(&[naa, port(Designator::RelativeTargetPort(3))]);
    let id = |tpgs, b: &[u8]| {
        PathIdentity::new(&inquiry(tpgs), &DeviceIdRepr::parse_bytes(b).unwrap()).unwrap()
    };
    let standby = GroupAccess::new(AccessState::Standby);

    // ALUA: the group is the TPG; a known state is passed on.
    let spec = path_spec(&id(Tpgs::Implicit, &with_tpg), NexusId(4), Some(standby)).unwrap();
    assert_eq!(
        (spec.group, spec.nexus, spec.access),
        (GroupId(7), NexusId(4), Some(standby))
    );
    let spec = path_spec(&id(Tpgs::Explicit, &with_tpg), NexusId(4), None).unwrap();
    assert_eq!(spec.access, None);
    assert!(!id(Tpgs::Implicit, &with_tpg).explicit_alua());

    // ALUA without a TPG designator: refused.
    assert_eq!(
        path_spec(&id(Tpgs::Both, &without), NexusId(1), None),
        Err(IdentityError::MissingTargetPortGroup)
    );

    // No ALUA: one default group, always optimized, TPG ignored.
    for b in [&with_tpg, &without] {
        let spec = path_spec(&id(Tpgs::NotSupported, b), NexusId(1), Some(standby)).unwrap();
        assert_eq!(spec.group, DEFAULT_GROUP);
        assert_eq!(spec.access, Some(GroupAccess::new(AccessState::Optimized)));
    }
    assert!(DEFAULT_GROUP.0 > u32::from(u16::MAX));
}

#[test]
fn bad_pages_are_typed_errors() {
    let inq = inquiry_bytes(&inquiry(Tpgs::Both));
    let good = page(&[lu(Designator::Naa(&NAA6), CodeSet::Binary)]);

    // Only a target-port NAA: nothing names the logical unit.
    let mut port_naa = port(Designator::Naa(&NAA6));
    port_naa.piv = false;
    let no_lu = page(&[port_naa]);
    assert_eq!(
        PathIdentity::from_bytes(&inq, &no_lu),
        Err(IdentityError::NoLuDesignator)
    );

    // No logical unit at this LUN.
    let mut absent = inquiry(Tpgs::Both);
    absent.peripheral.qualifier = 3;
    assert_eq!(
        PathIdentity::from_bytes(&inquiry_bytes(&absent), &good),
        Err(IdentityError::NotConnected { qualifier: 3 })
    );

    // Truncated pages name the page, field and offset.
    match PathIdentity::from_bytes(&inq, &good[..good.len() - 1]) {
        Err(IdentityError::Wire { page, error }) => {
            assert_eq!(page, "VPD page 83h");
            assert_eq!(error.kind, WireErrorKind::Truncated);
        }
        other => panic!("{other:?}"),
    }
    match PathIdentity::from_bytes(&inq[..20], &good) {
        Err(IdentityError::Wire { page, error }) => {
            assert_eq!(page, "standard INQUIRY data");
            assert_eq!(error.kind, WireErrorKind::Truncated);
        }
        other => panic!("{other:?}"),
    }
    let e = IdentityError::Wire {
        page: "VPD page 83h",
        error: WireError::new(WireErrorKind::Truncated, "DESIGNATOR LENGTH", 7),
    };
    assert_eq!(
        e.to_string(),
        "VPD page 83h: truncated in DESIGNATOR LENGTH at byte 7"
    );
}
