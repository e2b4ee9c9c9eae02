//! What discovery reads through one path, built with this crate's emitters
//! and parsed back: standard INQUIRY and VPD page 83h.

use mpath_scsi::designator::{Association, CodeSet, Designation, Designator};
use mpath_scsi::inquiry::{InquiryRepr, Peripheral, Tpgs};
use mpath_scsi::{DeviceIdRepr, List, PathIdentity, ProtocolId};

/// The logical unit's NAA name.
pub const NAA: [u8; 16] = [
    0x60, 0x01, 0x40, 0x5a, 0xbc, 0xde, 0xf0, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x12,
];

/// The identity of a path through relative target port `port`, in target
/// port group `tpg` when there is one, to a logical unit with `tpgs`.
pub fn identity(tpgs: Tpgs, tpg: Option<u16>, port: u16) -> PathIdentity {
    let inq = InquiryRepr {
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
    };
    let target_port = |designator| Designation {
        piv: true,
        protocol_id: ProtocolId::ISCSI,
        code_set: CodeSet::Binary,
        association: Association::TargetPort,
        designator,
    };
    let mut ds = vec![
        Designation {
            piv: false,
            protocol_id: ProtocolId::FCP,
            code_set: CodeSet::Binary,
            association: Association::LogicalUnit,
            designator: Designator::Naa(&NAA),
        },
        target_port(Designator::RelativeTargetPort(port)),
    ];
    ds.extend(tpg.map(|g| target_port(Designator::TargetPortGroup(g))));
    let mut i = [0u8; 36];
    inq.emit(&mut i).unwrap();
    let vpd = DeviceIdRepr {
        peripheral: Peripheral::DISK,
        designations: List::Items(&ds),
    };
    let mut v = [0u8; 64];
    let n = vpd.emit(&mut v).unwrap();
    PathIdentity::from_bytes(&i, &v[..n]).unwrap()
}
