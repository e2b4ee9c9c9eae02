//! Identity and ALUA: INQUIRY, VPD pages, REPORT / SET TARGET PORT GROUPS,
//! access states, unit attentions, decoded with mpath-scsi's parsers.

#[path = "scsi_common.rs"]
mod common;
use common::*;

use mpath_scsi::cdb::{self, RtpgFormat};
use mpath_scsi::designator::Designator;
use mpath_scsi::rtpg::Rtpg;
use mpath_scsi::stpg::{StpgDescriptor, StpgRepr};
use mpath_scsi::vpd::Vpd;
use mpath_scsi::{
    AluaState, DeviceIdRepr, InquiryRepr, List, PathIdentity, PrInAction, RtpgRepr, SenseKey,
    SupportedPagesRepr, SupportedStates, TpgStatus, Tpgs,
};
use mpath_sim::scsi_target::{LuConfig, NotDelivered, Residual};

fn rtpg(n: mpath_sim::scsi_target::Nexus, f: &mut Fx, format: RtpgFormat, alloc: u32) -> Vec<u8> {
    let (r, data) = f.run(
        n,
        &cdb::report_target_port_groups(format, alloc),
        &[],
        alloc as usize,
    );
    assert_good(&r);
    data
}

fn stpg(
    n: mpath_sim::scsi_target::Nexus,
    f: &mut Fx,
    d: &[StpgDescriptor],
) -> mpath_sim::scsi_target::Response {
    let repr = StpgRepr {
        descriptors: List::Items(d),
    };
    let mut list = vec![0u8; repr.buffer_len()];
    repr.emit(&mut list).unwrap();
    f.run(n, &cdb::set_target_port_groups(list.len() as u32), &list, 0)
        .0
}

#[test]
fn standard_inquiry_and_truncation() {
    let mut f = fx();
    let (r, data) = f.run(f.a1, &cdb::inquiry(96), &[], 96);
    assert_eq!((r.data_in_len, r.residual), (36, Residual::Underflow(60)));
    let inq = InquiryRepr::parse_bytes(&data).unwrap();
    assert_eq!(inq.tpgs, Tpgs::Both);
    assert!(inq.multip && inq.hisup && inq.cmdque);
    assert_eq!(inq.version, 6);
    assert_eq!(inq.vendor_str(), Some("MPATHSIM"));
    let (r, data) = f.run(f.a1, &cdb::inquiry(5), &[], 96);
    assert_eq!((data.len(), data[4]), (5, 31));
    assert_eq!(r.residual, Residual::Underflow(91));
    let mut g = fx_with(LuConfig {
        tpgs: Tpgs::Implicit,
        ..config()
    });
    let (_, data) = g.run(g.a1, &cdb::inquiry(36), &[], 36);
    assert_eq!(
        InquiryRepr::parse_bytes(&data).unwrap().tpgs,
        Tpgs::Implicit
    );
}

#[test]
fn vpd_pages_per_port() {
    let mut f = fx();
    let (_, data) = f.run(f.a1, &cdb::inquiry_vpd(0x00, 255), &[], 255);
    let pages = SupportedPagesRepr::parse_bytes(&data).unwrap();
    assert_eq!(pages.pages.iter().collect::<Vec<_>>(), [0x00, 0x80, 0x83]);
    let (_, data) = f.run(f.a1, &cdb::inquiry_vpd(0x80, 255), &[], 255);
    assert_eq!(Vpd::new_checked(&data[..]).unwrap().payload(), b"SIM0001");
    let mut names = Vec::new();
    for (n, port, group) in [(f.a1, 1, 1), (f.a3, 3, 2), (f.b2, 2, 1)] {
        let (_, data) = f.run(n, &cdb::inquiry_vpd(0x83, 255), &[], 255);
        let id = DeviceIdRepr::parse_bytes(&data).unwrap();
        assert_eq!(id.relative_target_port(), Some(port));
        assert_eq!(id.target_port_group(), Some(group));
        let lu = id.lu_designator().unwrap();
        assert!(matches!(lu.designator, Designator::Naa(b) if b.len() == 16));
        // The host's own identity reader agrees.
        let inq = f.run(n, &cdb::inquiry(36), &[], 36).1;
        let ident = PathIdentity::new(&InquiryRepr::parse_bytes(&inq).unwrap(), &id).unwrap();
        names.push(ident.lu);
    }
    assert!(names.windows(2).all(|w| w[0] == w[1]));
    // A page this target does not have.
    let (r, _) = f.run(f.a1, &cdb::inquiry_vpd(0xB0, 255), &[], 255);
    assert_pointer(&r, 0x24, true, 2, None);
    // Cut short: PAGE LENGTH still says the whole page.
    let (_, data) = f.run(f.a1, &cdb::inquiry_vpd(0x83, 8), &[], 255);
    assert_eq!(data.len(), 8);
    assert!(Vpd::<&[u8]>::required_len(&data).unwrap() > 8);
}

#[test]
fn rtpg_both_formats_and_allocation_length() {
    let mut f = fx();
    f.lu.set_group_preferred(1, true).unwrap();
    let ext = rtpg(f.a1, &mut f, RtpgFormat::Extended, 256);
    let r = RtpgRepr::parse_bytes(&ext).unwrap();
    assert_eq!(r.format, RtpgFormat::Extended);
    assert_eq!(r.implicit_transition_time, 10);
    let g1 = r.group(1).unwrap();
    assert!(g1.preferred && g1.contains_port(1) && g1.contains_port(2));
    assert_eq!(g1.state, AluaState::ActiveOptimized);
    assert!(g1
        .supported
        .contains(SupportedStates::STANDBY | SupportedStates::OFFLINE));
    assert!(!g1.supported.contains(SupportedStates::LBA_DEPENDENT));
    assert_eq!(r.group_of_port(4).unwrap().state, AluaState::Standby);
    let short = rtpg(f.a1, &mut f, RtpgFormat::LengthOnly, 256);
    let r = RtpgRepr::parse_bytes(&short).unwrap();
    assert_eq!(
        (r.format, r.implicit_transition_time),
        (RtpgFormat::LengthOnly, 0)
    );
    assert_eq!(short.len() + 4, ext.len());
    // Cut to 12 bytes: RETURN DATA LENGTH still counts everything.
    let cut = rtpg(f.a1, &mut f, RtpgFormat::Extended, 12);
    assert_eq!(cut.len(), 12);
    assert_eq!(Rtpg::<&[u8]>::required_len(&cut), Ok(ext.len()));
    // PARAMETER DATA FORMAT 010b is reserved: the pointer is at bit 7 of byte 1.
    let mut bad = cdb::report_target_port_groups(RtpgFormat::Extended, 64);
    bad[1] = 0x40 | 0x0A;
    let (r, _) = f.run(f.a1, &bad, &[], 64);
    assert_pointer(&r, 0x24, true, 1, None);
    // Standby and transitioning ports answer it too.
    rtpg(f.a3, &mut f, RtpgFormat::Extended, 256);
    f.lu.set_group_state(2, AluaState::Transitioning).unwrap();
    f.clear_ua(f.a3);
    rtpg(f.a3, &mut f, RtpgFormat::Extended, 256);
}

#[test]
fn stpg_moves_groups_and_tells_the_other_nexuses() {
    let mut f = fx();
    let r = stpg(
        f.a3,
        &mut f,
        &[StpgDescriptor {
            state: AluaState::ActiveOptimized,
            group: 2,
        }],
    );
    assert_good(&r);
    assert_eq!(f.lu.group_state(2), Some(AluaState::ActiveOptimized));
    let g = &f.lu.groups()[1];
    assert_eq!(g.status, TpgStatus::AlteredBySetTargetPortGroups);
    // Not the sender; everyone else.
    assert_good(&f.tur(f.a3));
    for n in [f.a1, f.a2, f.b1, f.b2, f.c1] {
        assert_ua(&f.tur(n), 0x2A, 0x06);
        assert_good(&f.tur(n));
    }
    // Unknown group: pointer at its TARGET PORT GROUP field.
    let r = stpg(
        f.a1,
        &mut f,
        &[StpgDescriptor {
            state: AluaState::Standby,
            group: 9,
        }],
    );
    assert_pointer(&r, 0x26, false, 6, None);
    // Bad list length.
    let c = cdb::set_target_port_groups(6);
    let r = f.run(f.a1, &c, &[0, 0, 0, 0, 2, 0], 0).0;
    assert_check(&r, SenseKey::IllegalRequest, 0x1A, 0);
    // Offline cannot be asked for (SPC-4 6.45).
    let r = f.run(f.a1, &c, &[0, 0, 0, 0, 0x0E, 0, 0, 1], 0).0;
    assert_check(&r, SenseKey::IllegalRequest, 0x1A, 0);
    let c = cdb::set_target_port_groups(8);
    let r = f.run(f.a1, &c, &[0, 0, 0, 0, 0x0E, 0, 0, 1], 0).0;
    assert_pointer(&r, 0x26, false, 4, Some(3));
    // Without explicit ALUA it is refused at the SERVICE ACTION.
    let mut g = fx_with(LuConfig {
        tpgs: Tpgs::Implicit,
        ..config()
    });
    let r = stpg(
        g.a1,
        &mut g,
        &[StpgDescriptor {
            state: AluaState::Standby,
            group: 1,
        }],
    );
    assert_pointer(&r, 0x24, true, 1, Some(4));
    assert_eq!(g.lu.group_state(1), Some(AluaState::ActiveOptimized));
    // Without ALUA at all RTPG is refused too.
    let mut h = fx_with(LuConfig {
        tpgs: Tpgs::NotSupported,
        ..config()
    });
    let c = cdb::report_target_port_groups(RtpgFormat::Extended, 64);
    assert_pointer(&h.run(h.a1, &c, &[], 64).0, 0x24, true, 1, Some(4));
}

#[test]
fn access_states_per_spc4() {
    let mut f = fx();
    // Standby (port 3): TUR and I/O get 04/0B; INQUIRY, RTPG, PR IN pass.
    assert_check(&f.tur(f.a3), SenseKey::NotReady, 0x04, 0x0B);
    assert_check(&f.read(f.a3, 0).0, SenseKey::NotReady, 0x04, 0x0B);
    assert_check(&f.write(f.a3, 0, 1, 1), SenseKey::NotReady, 0x04, 0x0B);
    assert_good(&f.run(f.a3, &cdb::inquiry(36), &[], 36).0);
    f.pr_in(f.a3, PrInAction::ReadKeys, 64);
    assert_good(&f.register(f.a3, 5));
    // An unsupported opcode meets the state first.
    assert_check(
        &f.run(f.a3, &[0xC0, 0, 0, 0, 0, 0], &[], 0).0,
        SenseKey::NotReady,
        4,
        0x0B,
    );
    // Unavailable: 04/0C, PERSISTENT RESERVE too; READ CAPACITY passes.
    f.lu.set_group_state(2, AluaState::Unavailable).unwrap();
    f.clear_ua(f.a3);
    assert_check(&f.tur(f.a3), SenseKey::NotReady, 0x04, 0x0C);
    let c = cdb::persistent_reserve_in(PrInAction::ReadKeys, 64);
    assert_check(&f.run(f.a3, &c, &[], 64).0, SenseKey::NotReady, 0x04, 0x0C);
    assert_good(&f.run(f.a3, &[0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0], &[], 8).0);
    // Transitioning: 04/0A, even SET TARGET PORT GROUPS.
    f.lu.set_group_state(2, AluaState::Transitioning).unwrap();
    f.clear_ua(f.a3);
    assert_check(&f.read(f.a3, 0).0, SenseKey::NotReady, 0x04, 0x0A);
    let r = stpg(
        f.a3,
        &mut f,
        &[StpgDescriptor {
            state: AluaState::ActiveOptimized,
            group: 2,
        }],
    );
    assert_check(&r, SenseKey::NotReady, 0x04, 0x0A);
    // Offline: the port does not answer.
    f.lu.set_group_state(2, AluaState::Offline).unwrap();
    let mut buf = [0u8; 8];
    assert_eq!(
        f.lu.command(f.a3, &cdb::inquiry(8), &[], &mut buf),
        Err(NotDelivered::PortOffline(3))
    );
    assert!(!f.lu.port_answers(3) && f.lu.port_answers(1));
    // Back to active: the UA waits for it.
    f.lu.set_group_state(2, AluaState::ActiveNonOptimized)
        .unwrap();
    assert_ua(&f.tur(f.a3), 0x2A, 0x06);
    assert_good(&f.tur(f.a3));
    assert_good(&f.write(f.a3, 0, 1, 1));
    // No change, no unit attention; unsupported states refused.
    f.clear_ua(f.a1);
    f.lu.set_group_state(1, AluaState::ActiveOptimized).unwrap();
    assert_good(&f.tur(f.a1));
    assert!(f.lu.set_group_state(1, AluaState::LbaDependent).is_err());
    assert!(f.lu.set_group_state(7, AluaState::Standby).is_err());
}

#[test]
fn unit_attentions_follow_sam5() {
    let mut f = fx();
    f.lu.set_group_state(2, AluaState::ActiveNonOptimized)
        .unwrap();
    // INQUIRY and REPORT LUNS neither report nor clear it.
    assert_good(&f.run(f.a1, &cdb::inquiry(36), &[], 36).0);
    let luns = [0xA0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0];
    let (r, data) = f.run(f.a1, &luns, &[], 16);
    assert_good(&r);
    assert_eq!(data, [0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(f.lu.pending_unit_attentions(f.a1), &[(0x2A, 0x06)]);
    // REQUEST SENSE returns it as data, in the format DESC asks, and clears it.
    let (r, data) = f.run(f.a1, &[0x03, 1, 0, 0, 252, 0], &[], 252);
    assert_good(&r);
    let s = sense_of(&data);
    assert_eq!(
        (s.format, s.key, s.asc, s.ascq),
        (
            mpath_scsi::SenseFormat::Descriptor,
            SenseKey::UnitAttention,
            0x2A,
            0x06
        )
    );
    let (_, data) = f.run(f.a1, &[0x03, 0, 0, 0, 252, 0], &[], 252);
    assert_eq!(sense_of(&data).key, SenseKey::NoSense);
    // Any other command reports one per command, oldest first.
    for n in f.all() {
        f.clear_ua(n);
    }
    assert_good(&f.register(f.b1, 1));
    assert_good(&f.register(f.a1, 2));
    f.lu.set_group_state(2, AluaState::Standby).unwrap();
    f.clear_ua(f.a1);
    assert_good(&f.pr_out(
        f.a1,
        mpath_scsi::PrOutAction::Clear,
        None,
        &mpath_scsi::PrOutParams::new(2, 0),
    ));
    assert_eq!(
        f.lu.pending_unit_attentions(f.b1),
        &[(0x2A, 0x06), (0x2A, 0x03)]
    );
    assert_ua(&f.read(f.b1, 0).0, 0x2A, 0x06);
    assert_ua(&f.read(f.b1, 0).0, 0x2A, 0x03);
    assert_good(&f.read(f.b1, 0).0);
}

#[test]
fn login_drop_and_restart() {
    let mut f = fx();
    let mut buf = [0u8; 8];
    f.lu.drop_nexus(f.b1);
    assert!(!f.lu.is_logged_in(f.b1));
    assert_eq!(
        f.lu.command(f.b1, &cdb::test_unit_ready(), &[], &mut buf),
        Err(NotDelivered::NexusNotLoggedIn)
    );
    f.lu.login(f.b1).unwrap();
    assert_ua(&f.tur(f.b1), 0x29, 0x07);
    // A nexus never seen since power on: POWER ON, RESET.
    let b4 = mpath_sim::scsi_target::Nexus::new(f.b1.initiator, 4);
    f.lu.login(b4).unwrap();
    assert_ua(&f.tur(b4), 0x29, 0x00);
    assert!(f
        .lu
        .login(mpath_sim::scsi_target::Nexus::new(f.b1.initiator, 9))
        .is_err());
    assert_eq!(
        f.lu.command(
            mpath_sim::scsi_target::Nexus::new(f.b1.initiator, 9),
            &cdb::test_unit_ready(),
            &[],
            &mut buf
        ),
        Err(NotDelivered::UnknownPort(9))
    );
    // Restart: every nexus gets POWER ON, RESET; blocks stay.
    assert_good(&f.write(f.a1, 7, 1, 1));
    f.lu.restart();
    assert_ua(&f.read(f.a1, 7).0, 0x29, 0x00);
    assert_eq!(f.read(f.a1, 7).1.map(|s| s.generation), Some(1));
}

/// A target port moved to another group: REPORT TARGET PORT GROUPS and
/// VPD page 83h say so, the port takes its new group's access state, and
/// every nexus hears ASYMMETRIC ACCESS STATE CHANGED; a move to where the
/// port is already says nothing; unknown ports and groups are refused.
#[test]
fn a_port_moved_between_groups() {
    use mpath_sim::scsi_target::TopologyError;
    let mut f = fx();
    f.lu.move_target_port(2, 2).unwrap();
    for n in f.all() {
        assert_eq!(f.lu.pending_unit_attentions(n), &[(0x2A, 0x06)], "{n:?}");
        f.clear_ua(n);
    }
    let r = rtpg(f.a1, &mut f, RtpgFormat::Extended, 256);
    let r = RtpgRepr::parse_bytes(&r).unwrap();
    assert!(!r.group(1).unwrap().contains_port(2));
    assert!(r.group(2).unwrap().contains_port(2));
    assert_eq!(r.group_of_port(2).unwrap().state, AluaState::Standby);
    let (_, data) = f.run(f.b2, &cdb::inquiry_vpd(0x83, 255), &[], 255);
    assert_eq!(
        DeviceIdRepr::parse_bytes(&data)
            .unwrap()
            .target_port_group(),
        Some(2)
    );
    // Standby now: a READ through the moved port is refused.
    let (r, _) = f.read(f.b2, 0);
    assert_ne!(r.status.code(), 0);
    f.lu.move_target_port(2, 2).unwrap();
    assert!(f.lu.pending_unit_attentions(f.a1).is_empty());
    assert_eq!(
        f.lu.move_target_port(9, 1),
        Err(TopologyError::UnknownPort(9))
    );
    assert_eq!(
        f.lu.move_target_port(2, 7),
        Err(TopologyError::UnknownGroup(7))
    );
}
