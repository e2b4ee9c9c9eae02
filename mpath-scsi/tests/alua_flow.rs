//! The calls an ALUA adapter makes, end to end on real bytes: discover the
//! path's target port group, read the group states, react to a unit
//! attention, and activate a standby group. Each response is built with this
//! crate's emitters, as the simulator's targets will build them.

use mpath_core::access::{AccessState, GroupAccess};
use mpath_core::outcome::{Notices, Outcome, PathErrorKind, ProbeResult};
use mpath_scsi::alua::{AluaState, SupportedStates, TpgStatus};
use mpath_scsi::cdb::{self, RtpgFormat};
use mpath_scsi::classify::status;
use mpath_scsi::designator::{Association, CodeSet, Designation, Designator};
use mpath_scsi::inquiry::{InquiryRepr, Peripheral, Tpgs};
use mpath_scsi::rtpg::{RelativePortId, TpgDescriptor};
use mpath_scsi::stpg::StpgDescriptor;
use mpath_scsi::vpd::page;
use mpath_scsi::{
    classify, classify_probe, CdbRepr, Command, DeviceIdRepr, List, ProtocolId, RtpgRepr,
    SenseFormat, SenseKey, SenseRepr, StpgRepr, TransportStatus,
};

fn port(piv: bool, designator: Designator<'_>) -> Designation<'_> {
    Designation {
        piv,
        protocol_id: ProtocolId::ISCSI,
        code_set: CodeSet::Binary,
        association: Association::TargetPort,
        designator,
    }
}

#[test]
fn discover_read_states_and_activate() {
    // 1. Standard INQUIRY says explicit and implicit ALUA.
    let inq = InquiryRepr {
        peripheral: Peripheral::DISK,
        rmb: false,
        version: 6,
        normaca: false,
        hisup: true,
        response_data_format: 2,
        sccs: false,
        acc: false,
        tpgs: Tpgs::Both,
        third_party_copy: false,
        protect: false,
        encserv: false,
        multip: true,
        cmdque: true,
        vendor: *b"LIO-ORG ",
        product: *b"block0          ",
        revision: *b"4.0 ",
    };
    let mut buf = [0u8; 96];
    let n = inq.emit(&mut buf).unwrap();
    let got = InquiryRepr::parse_bytes(&buf[..n]).unwrap();
    assert!(got.tpgs.explicit() && got.tpgs.implicit());

    // 2. VPD 83h through this path: relative port 2 in target port group 7.
    let naa = [0x60, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15];
    let ds = [
        Designation {
            piv: false,
            protocol_id: ProtocolId::FCP,
            code_set: CodeSet::Binary,
            association: Association::LogicalUnit,
            designator: Designator::Naa(&naa),
        },
        port(true, Designator::RelativeTargetPort(2)),
        port(true, Designator::TargetPortGroup(7)),
    ];
    let vpd = DeviceIdRepr {
        peripheral: Peripheral::DISK,
        designations: List::Items(&ds),
    };
    let n = vpd.emit(&mut buf).unwrap();
    assert_eq!(
        CdbRepr::parse(&cdb::inquiry_vpd(page::DEVICE_IDENTIFICATION, 96))
            .unwrap()
            .command,
        Command::Inquiry {
            page: Some(0x83),
            alloc_len: 96
        }
    );
    let vpd = DeviceIdRepr::parse_bytes(&buf[..n]).unwrap();
    assert_eq!(
        vpd.lu_designator().unwrap().designator,
        Designator::Naa(&naa)
    );
    let (rel_port, tpg) = (
        vpd.relative_target_port().unwrap(),
        vpd.target_port_group().unwrap(),
    );
    assert_eq!((rel_port, tpg), (2, 7));

    // 3. RTPG: group 7 is standby, group 8 active/optimized.
    let ports7 = [RelativePortId(1), RelativePortId(2)];
    let ports8 = [RelativePortId(3)];
    let group = |g, state, ports| TpgDescriptor {
        preferred: false,
        state,
        supported: SupportedStates::all(),
        group: g,
        status: TpgStatus::AlteredByImplicitBehavior,
        vendor_specific: 0,
        ports: List::Items(ports),
    };
    let groups = [
        group(7, AluaState::Standby, &ports7[..]),
        group(8, AluaState::ActiveOptimized, &ports8[..]),
    ];
    let rtpg = RtpgRepr {
        format: RtpgFormat::Extended,
        implicit_transition_time: 30,
        groups: List::Items(&groups),
    };
    let mut big = [0u8; 256];
    let n = rtpg.emit(&mut big).unwrap();
    let rtpg = RtpgRepr::parse_bytes(&big[..n]).unwrap();
    let mine = rtpg.group_of_port(rel_port).unwrap();
    assert_eq!(mine.group, tpg);
    assert_eq!(mine.access(), GroupAccess::new(AccessState::Standby));

    // 4. I/O on the standby path fails over and asks for a state re-read;
    //    the TUR checker sees a ghost.
    let sense = SenseRepr::new(SenseFormat::Descriptor, SenseKey::NotReady, 0x04, 0x0B);
    let n = sense.emit(&mut buf).unwrap();
    let c = classify(
        TransportStatus::Ok,
        status::CHECK_CONDITION,
        Some(&buf[..n]),
    );
    assert_eq!(c.outcome, Outcome::PathError(PathErrorKind::AccessDenied));
    assert!(c.notices.contains(Notices::ACCESS_STATE_CHANGED));
    assert_eq!(
        classify_probe(
            TransportStatus::Ok,
            status::CHECK_CONDITION,
            Some(&buf[..n])
        ),
        ProbeResult::Ghost
    );

    // 5. Explicit activation: STPG to active/optimized for our group, with a
    //    CDB whose PARAMETER LIST LENGTH is the list's length.
    let stpg = StpgRepr {
        descriptors: List::Items(&[StpgDescriptor {
            state: AluaState::ActiveOptimized,
            group: tpg,
        }]),
    };
    let n = stpg.emit(&mut buf).unwrap();
    let cdb = cdb::set_target_port_groups(u32::try_from(n).unwrap());
    assert_eq!(
        CdbRepr::parse(&cdb).unwrap().command,
        Command::SetTargetPortGroups { param_len: 8 }
    );
    assert_eq!(&buf[..n], &[0, 0, 0, 0, 0, 0, 0, 7]);
}
