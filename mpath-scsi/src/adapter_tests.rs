use super::*;
use crate::alua::{SupportedStates, TpgStatus};
use crate::cdb::{CdbRepr, Command};
use crate::classify::status;
use crate::designator::{Association, CodeSet, Designation, Designator, DeviceIdRepr};
use crate::error::WireErrorKind;
use crate::identity::path_spec;
use crate::inquiry::{InquiryRepr, Peripheral};
use crate::rtpg::{RelativePortId, RtpgRepr, TpgDescriptor};
use crate::sense::SenseFormat;
use crate::sense::SenseRepr;
use crate::sense_key::SenseKey;
use crate::transport_id::ProtocolId;
use crate::{Applied, RtpgApplied, ScsiResponse, PROBE_ATTENTION_RETRIES};
use alloc::vec::Vec;
use mpath_core::{Link, Multipath, NexusId, ProbeResult, Tier};

const NAA: [u8; 16] = [
    0x60, 0x01, 0x40, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17,
];

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

fn identity(tpgs: Tpgs, tpg: u16) -> PathIdentity {
    identity_at(tpgs, tpg, tpg)
}

/// A path through relative target port `port` of target port group `tpg`.
fn identity_at(tpgs: Tpgs, port: u16, tpg: u16) -> PathIdentity {
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
    let of_port = |designator| Designation {
        piv: true,
        protocol_id: ProtocolId::ISCSI,
        code_set: CodeSet::Binary,
        association: Association::TargetPort,
        designator,
    };
    let ds = [
        Designation {
            piv: false,
            protocol_id: ProtocolId::FCP,
            code_set: CodeSet::Binary,
            association: Association::LogicalUnit,
            designator: Designator::Naa(&NAA),
        },
        of_port(Designator::RelativeTargetPort(port)),
        of_port(Designator::TargetPortGroup(tpg)),
    ];
    let vpd = DeviceIdRepr {
        peripheral: Peripheral::DISK,
        designations: List::Items(&ds),
    };
    let mut v = [0u8; 64];
    let n = vpd.emit(&mut v).unwrap();
    let mut i = [0u8; 36];
    inq.emit(&mut i).unwrap();
    PathIdentity::from_bytes(&i, &v[..n]).unwrap()
}

type Mp = Multipath<8>;

/// Two paths, TPG 1 and TPG 2 (relative ports 1 and 2), added without a
/// state so the core asks for RTPG on each.
fn setup(tpgs: Tpgs) -> (Mp, ScsiAdapter<8>, PathId, PathId) {
    let mut cfg = Config::DEFAULT;
    cfg.access.explicit_activation = true;
    let mut mp = Mp::new(ScsiAdapter::<8>::core_config(cfg, tpgs)).unwrap();
    let a = identity(tpgs, 1);
    let mut ad = ScsiAdapter::<8>::new(a.lu);
    let ctl = mp.controller_mut();
    let p1 = ad
        .add_path(ctl, &a, path_spec(&a, NexusId(1), None).unwrap(), 0, t(0))
        .unwrap();
    let b = identity(tpgs, 2);
    let p2 = ad
        .add_path(ctl, &b, path_spec(&b, NexusId(2), None).unwrap(), 0, t(0))
        .unwrap();
    (mp, ad, p1, p2)
}

fn sense(key: SenseKey, asc: u8, ascq: u8) -> Vec<u8> {
    let r = SenseRepr::new(SenseFormat::Fixed, key, asc, ascq);
    let mut b = alloc::vec![0u8; r.buffer_len()];
    r.emit(&mut b).unwrap();
    b
}

fn rtpg(itt: u8, groups: &[(u16, AluaState)]) -> Vec<u8> {
    let ports: Vec<Vec<u16>> = groups.iter().map(|g| alloc::vec![g.0]).collect();
    let with_ports: Vec<(u16, AluaState, &[u16])> = groups
        .iter()
        .zip(&ports)
        .map(|(&(g, st), p)| (g, st, p.as_slice()))
        .collect();
    rtpg_ports(itt, &with_ports)
}

/// RTPG data with (group, state, relative target ports) per descriptor.
fn rtpg_ports(itt: u8, groups: &[(u16, AluaState, &[u16])]) -> Vec<u8> {
    let ports: Vec<Vec<RelativePortId>> = groups
        .iter()
        .map(|g| g.2.iter().map(|&p| RelativePortId(p)).collect())
        .collect();
    let ds: Vec<TpgDescriptor<'_>> = groups
        .iter()
        .zip(&ports)
        .map(|(&(group, state, _), ports)| TpgDescriptor {
            preferred: false,
            state,
            supported: SupportedStates::all(),
            group,
            status: TpgStatus::None,
            vendor_specific: 0,
            ports: List::Items(ports),
        })
        .collect();
    let r = RtpgRepr {
        format: RtpgFormat::Extended,
        implicit_transition_time: itt,
        groups: List::Items(&ds),
    };
    let mut b = alloc::vec![0u8; r.buffer_len()];
    r.emit(&mut b).unwrap();
    b
}

/// Drain the core's actions into commands.
fn commands(mp: &mut Mp, ad: &ScsiAdapter<8>) -> Vec<ScsiCommand> {
    let mut out = Vec::new();
    while let Some(a) = mp.controller_mut().poll_action() {
        if let Some(c) = ad.map_action(&a).unwrap() {
            out.push(c);
        }
    }
    out
}

#[test]
fn actions_map_to_commands() {
    let (mut mp, mut ad, p1, p2) = setup(Tpgs::Both);
    let ext = [0xA3, 0x2A, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0];
    let len_only = [0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0];
    let stpg = [0xA4, 0x0A, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0];
    /// action, kind, CDB, data-out, data-in length
    type Row<'a> = (Action, CommandKind, &'a [u8], &'a [u8], u32);
    let table: &[Row<'_>] = &[
        (Action::Probe(p1), CommandKind::Probe, &[0; 6], &[], 0),
        (
            Action::RefreshAccessState { via: p2 },
            CommandKind::RefreshAccessState,
            &ext,
            &[],
            128,
        ),
        (
            Action::ActivateGroup {
                group: GroupId(2),
                via: p2,
            },
            CommandKind::ActivateGroup { group: GroupId(2) },
            &stpg,
            &[0, 0, 0, 0, 0x00, 0, 0, 2],
            0,
        ),
    ];
    for (action, kind, cdb, data_out, data_in_len) in table {
        let c = ad.map_action(action).unwrap().unwrap();
        assert_eq!(c.kind(), *kind, "{action:?}");
        assert_eq!(c.cdb(), *cdb, "{action:?}");
        assert_eq!(c.data_out(), *data_out, "{action:?}");
        assert_eq!(c.data_in_len(), *data_in_len, "{action:?}");
        assert!(CdbRepr::parse(c.cdb()).is_ok());
    }
    // The STPG parameter list parses back to one active/optimized descriptor
    // whose length is the CDB's PARAMETER LIST LENGTH.
    let c = ad.set_target_port_groups(GroupId(1), p1).unwrap();
    let list = StpgRepr::parse_bytes(c.data_out()).unwrap();
    let d: Vec<_> = list.descriptors.iter().collect();
    assert_eq!(
        d,
        [StpgDescriptor {
            state: AluaState::ActiveOptimized,
            group: 1
        }]
    );
    assert_eq!(
        CdbRepr::parse(c.cdb()).unwrap().command,
        Command::SetTargetPortGroups { param_len: 8 }
    );

    // Not SCSI commands.
    for a in [
        Action::TransitionTimedOut { group: GroupId(1) },
        Action::HeadLive,
        Action::HeadRemoved,
    ] {
        assert_eq!(ad.map_action(&a), Ok(None));
    }

    // A target refusing the extended header gets the length-only form.
    let first = commands(&mut mp, &ad);
    let refresh = first
        .iter()
        .find(|c| c.kind() == CommandKind::RefreshAccessState)
        .unwrap();
    assert_eq!(refresh.cdb(), ext);
    let s = sense(SenseKey::IllegalRequest, 0x24, 0);
    match ad
        .apply(
            mp.controller_mut(),
            refresh,
            &ScsiResponse::check_condition(&s),
            t(1),
        )
        .unwrap()
    {
        Applied::Refresh(RtpgApplied::Reissue(c)) => {
            assert_eq!(c.cdb(), len_only);
            assert_eq!(c.path(), refresh.path());
        }
        other => panic!("{other:?}"),
    }
    assert!(!ad.path(refresh.path()).unwrap().extended_header);
}

#[test]
fn actions_this_lu_cannot_do_are_typed_errors_and_settle() {
    // Implicit-only ALUA: no STPG.
    let (mut mp, ad, p1, _) = setup(Tpgs::Implicit);
    let act = Action::ActivateGroup {
        group: GroupId(1),
        via: p1,
    };
    assert_eq!(
        ad.map_action(&act),
        Err(AdapterError::ExplicitAluaUnsupported { group: GroupId(1) })
    );
    assert!(!mp.controller().config().access.explicit_activation);
    assert_eq!(
        ad.set_target_port_groups(DEFAULT_GROUP, p1),
        Err(AdapterError::UnknownGroup(DEFAULT_GROUP))
    );
    assert_eq!(
        ad.set_target_port_groups(GroupId(9), p1),
        Err(AdapterError::UnknownGroup(GroupId(9)))
    );
    // The core did not ask for this activation: settling it is refused.
    assert!(matches!(
        ad.settle_unmapped(mp.controller_mut(), &act, t(0)),
        Err(AdapterError::Core(mpath_core::Error::NotPending { .. }))
    ));

    // Unknown and stale paths.
    let (mut mp, mut ad, p1, _) = setup(Tpgs::Both);
    let tur = ad.test_unit_ready(p1).unwrap();
    ad.remove_path(mp.controller_mut(), p1, t(1)).unwrap();
    assert_eq!(
        ad.map_action(&Action::Probe(p1)),
        Err(AdapterError::UnknownPath(p1))
    );
    assert_eq!(
        ad.apply(mp.controller_mut(), &tur, &ScsiResponse::GOOD, t(1)),
        Err(AdapterError::UnknownPath(p1))
    );

    // No ALUA: a refresh is answered with the default group, optimized.
    let mut mp = Mp::new(Config::DEFAULT).unwrap();
    let a = identity(Tpgs::NotSupported, 1);
    let mut ad = ScsiAdapter::<8>::new(a.lu);
    let ctl = mp.controller_mut();
    let p = ad
        .add_path(ctl, &a, path_spec(&a, NexusId(1), None).unwrap(), 0, t(0))
        .unwrap();
    assert!(commands(&mut mp, &ad).is_empty(), "no RTPG without ALUA");
    let ctl = mp.controller_mut();
    ctl.handle_notices(p, Notices::ACCESS_STATE_CHANGED, t(1))
        .unwrap();
    let action = ctl.poll_action().unwrap();
    assert_eq!(action, Action::RefreshAccessState { via: p });
    assert_eq!(ad.map_action(&action), Err(AdapterError::NotAlua(p)));
    ad.settle_unmapped(ctl, &action, t(1)).unwrap();
    assert!(!ctl.refresh_pending(p).unwrap());
    assert_eq!(
        ctl.group_access(DEFAULT_GROUP),
        Some(GroupAccess::new(AccessState::Optimized))
    );
    assert_eq!(ctl.tier(p), Ok(Tier::Optimized));

    // A path of another logical unit, or with a spec for another group.
    let mut naa = NAA;
    naa[15] = 0;
    let b = identity(Tpgs::Both, 1);
    let spec = path_spec(&b, NexusId(9), None).unwrap();
    let mut ad2 = ScsiAdapter::<8>::new(
        LuName::from_designation(&Designation {
            piv: false,
            protocol_id: ProtocolId::FCP,
            code_set: CodeSet::Binary,
            association: Association::LogicalUnit,
            designator: Designator::Naa(&naa),
        })
        .unwrap(),
    );
    assert_eq!(
        ad2.add_path(ctl, &b, spec, 0, t(1)),
        Err(AdapterError::WrongLogicalUnit)
    );
    let c = identity(Tpgs::Both, 2);
    assert_eq!(
        ad.add_path(ctl, &c, spec, 0, t(1)),
        Err(AdapterError::GroupMismatch {
            expected: GroupId(2),
            got: GroupId(1)
        })
    );
}

#[test]
fn probe_results_as_the_tur_checker_has_them() {
    use TransportStatus as X;
    let standby = sense(SenseKey::NotReady, 0x04, 0x0B);
    let transitioning = sense(SenseKey::NotReady, 0x04, 0x0A);
    let ua = sense(SenseKey::UnitAttention, 0x2A, 0x06);
    let table: &[(ScsiResponse<'_>, ProbeResult, Link, bool)] = &[
        (ScsiResponse::GOOD, ProbeResult::Up, Link::Up, false),
        (
            ScsiResponse::status(status::RESERVATION_CONFLICT),
            ProbeResult::Up,
            Link::Up,
            false,
        ),
        // Ghost while the core thinks the group serves I/O: stale state,
        // re-read (the core's rule, not a notice).
        (
            ScsiResponse::check_condition(&standby),
            ProbeResult::Ghost,
            Link::Up,
            true,
        ),
        (
            ScsiResponse::check_condition(&transitioning),
            ProbeResult::Pending,
            Link::Pending,
            true,
        ),
        (
            ScsiResponse::check_condition(&ua),
            ProbeResult::Retry,
            Link::Up,
            true,
        ),
        (
            ScsiResponse::transport(X::Timeout),
            ProbeResult::Down,
            Link::Down,
            false,
        ),
        (
            ScsiResponse::status(status::BUSY),
            ProbeResult::Retry,
            Link::Up,
            false,
        ),
    ];
    for (resp, want, link, refresh) in table {
        let (mut mp, mut ad, p1, _) = setup(Tpgs::Both);
        settle_both_optimized(&mut mp, &mut ad);
        let ctl = mp.controller_mut();
        assert!(!ctl.refresh_pending(p1).unwrap());
        let tur = ad.test_unit_ready(p1).unwrap();
        let mut got = ad.apply(ctl, &tur, resp, t(10)).unwrap();
        // A unit attention is asked about again at once, a bounded number
        // of times in a row, before the core hears of a retry.
        let mut again = 0;
        while let Applied::ProbeAgain(next) = got {
            assert_eq!(next, tur);
            again += 1;
            got = ad.apply(ctl, &next, resp, t(10)).unwrap();
        }
        let attention = resp.sense.is_some_and(|s| s[2] & 0x0F == 6);
        let expect = if attention {
            PROBE_ATTENTION_RETRIES
        } else {
            0
        };
        assert_eq!(again, expect, "{resp:?}");
        assert_eq!(got, Applied::Probe(*want), "{resp:?}");
        let snap = ctl.path_snapshot(p1, &[]).unwrap();
        assert_eq!(snap.link, *link, "{resp:?}");
        assert_eq!(ctl.refresh_pending(p1).unwrap(), *refresh, "{resp:?}");
        // A ghost stays in its group's tier until the re-read it caused
        // says standby; pending and down are out at once.
        let usable = matches!(
            want,
            ProbeResult::Up | ProbeResult::Retry | ProbeResult::Ghost
        );
        assert_eq!(snap.tier == Tier::Optimized, usable, "{resp:?}");
    }
}

#[test]
fn malformed_rtpg_fails_the_refresh_and_changes_nothing() {
    let (mut mp, mut ad, p1, p2) = setup(Tpgs::Both);
    let cmds = commands(&mut mp, &ad);
    assert_eq!(cmds.len(), 2);
    let before = (
        mp.controller().group_access(GroupId(1)),
        mp.controller().group_access(GroupId(2)),
    );
    let mut bad = rtpg(
        0,
        &[(1, AluaState::Standby), (2, AluaState::ActiveOptimized)],
    );
    // Second descriptor's state: a reserved code.
    let second = 8 + 12;
    bad[second] = 0x07;
    let ctl = mp.controller_mut();
    let e = ad
        .apply(ctl, &cmds[0], &ScsiResponse::good(&bad), t(5))
        .unwrap_err();
    assert_eq!(
        e,
        AdapterError::Wire(WireError::new(
            WireErrorKind::Reserved,
            "ASYMMETRIC ACCESS STATE",
            second
        ))
    );
    assert_eq!(
        (ctl.group_access(GroupId(1)), ctl.group_access(GroupId(2))),
        before
    );
    assert_eq!(
        ctl.path_snapshot(p1, &[])
            .unwrap()
            .counters
            .refresh_failures,
        0
    );
    // Failed, not finished: retried after the refresh delay.
    assert!(ctl.refresh_pending(p1).unwrap());
    assert_eq!(ctl.poll_timeout(), Some(t(1005)));

    // A response that omits the sender's own group, a bad status, and more
    // data than allocated are refused the same way.
    let other = rtpg(0, &[(1, AluaState::Standby)]);
    assert_eq!(
        ad.apply(ctl, &cmds[1], &ScsiResponse::good(&other), t(5)),
        Err(AdapterError::GroupNotInRtpg { tpg: 2 })
    );
    let r = ad
        .map_action(&Action::RefreshAccessState { via: p2 })
        .unwrap()
        .unwrap();
    let busy = ScsiResponse::status(status::BUSY);
    assert!(matches!(
        ad.apply(ctl, &r, &busy, t(5)),
        Err(AdapterError::CommandFailed {
            command: CommandKind::RefreshAccessState,
            ..
        })
    ));
    let huge = [0u8; 200];
    assert_eq!(
        ad.apply(ctl, &r, &ScsiResponse::good(&huge), t(5)),
        Err(AdapterError::UnexpectedData {
            command: CommandKind::RefreshAccessState,
            len: 200,
            allowed: 128
        })
    );
    assert_eq!(
        (ctl.group_access(GroupId(1)), ctl.group_access(GroupId(2))),
        before
    );
    assert_eq!(
        ad.apply(ctl, &cmds[0], &ScsiResponse::good(&bad[..2]), t(5)),
        Err(AdapterError::Wire(WireError::new(
            WireErrorKind::Truncated,
            "RETURN DATA LENGTH",
            0
        )))
    );
}

#[test]
fn rtpg_larger_than_allocated_is_asked_again() {
    let (mut mp, mut ad, p1, p2) = setup(Tpgs::Both);
    let cmds = commands(&mut mp, &ad);
    // 40 groups: 8 + 40 * 12 bytes, cut at the allocation length.
    let mut groups: Vec<(u16, AluaState)> = (3..43).map(|g| (g, AluaState::Standby)).collect();
    groups.push((1, AluaState::ActiveOptimized));
    groups.push((2, AluaState::ActiveNonOptimized));
    let full = rtpg(60, &groups);
    assert_eq!(full.len(), 8 + 42 * 12);
    let ctl = mp.controller_mut();
    let again = match ad
        .apply(ctl, &cmds[0], &ScsiResponse::good(&full[..128]), t(1))
        .unwrap()
    {
        Applied::Refresh(RtpgApplied::Reissue(c)) => c,
        other => panic!("{other:?}"),
    };
    let len = u32::try_from(full.len()).unwrap();
    assert_eq!(again.data_in_len(), len);
    assert_eq!(
        CdbRepr::parse(again.cdb()).unwrap().command,
        Command::ReportTargetPortGroups {
            format: RtpgFormat::Extended,
            alloc_len: len
        }
    );
    // Every path of the device learns the size.
    assert_eq!(ad.path(p2).unwrap().rtpg_alloc_len, len);
    assert!(ctl.refresh_pending(p1).unwrap(), "still in flight");
    assert_eq!(
        ad.apply(ctl, &again, &ScsiResponse::good(&full), t(2)),
        Ok(Applied::Refresh(RtpgApplied::Applied { groups: 2 }))
    );
    // Only this device's groups reach the core.
    assert_eq!(ctl.group_access(GroupId(3)), None);
    assert_eq!(ctl.tier(p1), Ok(Tier::Optimized));
    assert_eq!(ctl.tier(p2), Ok(Tier::NonOptimized));

    // A target claiming more than the cap is refused.
    let mut lie = full.clone();
    lie[..4].copy_from_slice(&(RTPG_MAX_ALLOC_LEN).to_be_bytes());
    assert_eq!(
        ad.apply(ctl, &cmds[1], &ScsiResponse::good(&lie[..100]), t(3)),
        Err(AdapterError::RtpgTooLarge {
            required: usize::try_from(RTPG_MAX_ALLOC_LEN).unwrap() + 4
        })
    );
}

#[test]
fn a_target_port_that_moved_group_is_followed() {
    let (mut mp, mut ad, p1, p2) = setup(Tpgs::Both);
    let cmds = commands(&mut mp, &ad);
    let ctl = mp.controller_mut();
    let first = rtpg(
        60,
        &[(1, AluaState::ActiveOptimized), (2, AluaState::Standby)],
    );
    ad.apply(ctl, &cmds[0], &ScsiResponse::good(&first), t(1))
        .unwrap();
    assert_eq!(ctl.tier(p2), Ok(Tier::Ineligible));
    // Reconfigured: port 2 now sits in group 1 with port 1; group 2 is
    // empty and reported unavailable.
    let ctl = mp.controller_mut();
    ctl.handle_notices(p1, mpath_core::Notices::ACCESS_STATE_CHANGED, t(2))
        .unwrap();
    let again = commands(&mut mp, &ad);
    let ctl = mp.controller_mut();
    let moved = rtpg_ports(
        60,
        &[
            (1, AluaState::ActiveOptimized, &[1, 2]),
            (2, AluaState::Unavailable, &[]),
        ],
    );
    assert_eq!(
        ad.apply(ctl, &again[0], &ScsiResponse::good(&moved), t(3)),
        Ok(Applied::Refresh(RtpgApplied::Applied { groups: 1 }))
    );
    assert_eq!(ad.path(p2).unwrap().target_port_group, Some(1));
    assert_eq!(ad.path(p2).unwrap().group, GroupId(1));
    assert_eq!(ctl.tier(p2), Ok(Tier::Optimized));
    assert_eq!(ctl.group_access(GroupId(2)), None, "old group forgotten");
}

#[test]
fn stpg_results() {
    use TransportStatus as X;
    let ua = sense(SenseKey::UnitAttention, 0x29, 0);
    let transitioning = sense(SenseKey::NotReady, 0x04, 0x0A);
    let illegal = sense(SenseKey::IllegalRequest, 0x24, 0);
    let table: &[(ScsiResponse<'_>, ActivationResult)] = &[
        (ScsiResponse::GOOD, ActivationResult::Done),
        (ScsiResponse::status(status::BUSY), ActivationResult::Retry),
        (ScsiResponse::check_condition(&ua), ActivationResult::Retry),
        (
            ScsiResponse::check_condition(&transitioning),
            ActivationResult::Retry,
        ),
        (ScsiResponse::transport(X::Timeout), ActivationResult::Retry),
        (
            ScsiResponse::check_condition(&illegal),
            ActivationResult::Failed,
        ),
        (
            ScsiResponse::status(status::RESERVATION_CONFLICT),
            ActivationResult::Failed,
        ),
    ];
    for (resp, want) in table {
        let (mut mp, mut ad, _, p2) = setup(Tpgs::Both);
        // TPG 1 unavailable, TPG 2 standby: the core activates TPG 2.
        let data = rtpg(0, &[(1, AluaState::Unavailable), (2, AluaState::Standby)]);
        for c in commands(&mut mp, &ad) {
            ad.apply(mp.controller_mut(), &c, &ScsiResponse::good(&data), t(0))
                .unwrap();
        }
        let cmds = commands(&mut mp, &ad);
        let stpg = cmds
            .iter()
            .find(|c| matches!(c.kind(), CommandKind::ActivateGroup { .. }))
            .unwrap();
        assert_eq!(
            stpg.kind(),
            CommandKind::ActivateGroup { group: GroupId(2) }
        );
        assert_eq!(stpg.path(), p2);
        let ctl = mp.controller_mut();
        assert_eq!(
            ad.apply(ctl, stpg, resp, t(1)),
            Ok(Applied::Activation(*want)),
            "{resp:?}"
        );
        // Done is followed by an RTPG, as scsi_dh_alua does.
        assert_eq!(
            ctl.refresh_pending(p2).unwrap(),
            *want == ActivationResult::Done
        );
        if *want == ActivationResult::Retry {
            // Retried after the activation delay; data-in on it makes no
            // sense, and the core is told to retry again.
            ctl.handle_timeout(t(1001)).unwrap();
            let again = commands(&mut mp, &ad);
            assert_eq!(again.as_slice(), core::slice::from_ref(stpg));
            let junk = [0u8; 8];
            assert_eq!(
                ad.apply(
                    mp.controller_mut(),
                    stpg,
                    &ScsiResponse::good(&junk),
                    t(1001)
                ),
                Err(AdapterError::UnexpectedData {
                    command: stpg.kind(),
                    len: 8,
                    allowed: 0
                })
            );
            mp.controller_mut().handle_timeout(t(2001)).unwrap();
            assert_eq!(commands(&mut mp, &ad).len(), 1);
        }
    }
    let (mut mp, mut ad, p1, _) = setup(Tpgs::Both);
    let junk = [1u8; 4];
    assert_eq!(
        ad.apply(
            mp.controller_mut(),
            &ad.test_unit_ready(p1).unwrap(),
            &ScsiResponse::good(&junk),
            t(1)
        ),
        Err(AdapterError::UnexpectedData {
            command: CommandKind::Probe,
            len: 4,
            allowed: 0
        })
    );
    assert_eq!(
        classify_io(TransportStatus::Ok, status::GOOD, None),
        crate::classify::classify(TransportStatus::Ok, status::GOOD, None)
    );
}

/// The extended RTPG header given up on a path whose target cuts it short.
#[path = "adapter_rtpg_header_tests.rs"]
mod rtpg_header;

/// Settle discovery: both groups read back optimized.
fn settle_both_optimized(mp: &mut Mp, ad: &mut ScsiAdapter<8>) {
    for c in commands(mp, ad) {
        let both = [
            (1, AluaState::ActiveOptimized),
            (2, AluaState::ActiveOptimized),
        ];
        let data = rtpg(0, &both);
        ad.apply(mp.controller_mut(), &c, &ScsiResponse::good(&data), t(0))
            .unwrap();
    }
}

/// A TEST UNIT READY answered with a unit attention (POWER ON, RESET after
/// a target restart) is sent again at once, its notices passed on; the
/// next answer is the path's state, and the count starts again.
#[test]
fn a_unit_attention_on_a_probe_is_asked_again_at_once() {
    let (mut mp, mut ad, p1, _) = setup(Tpgs::Both);
    settle_both_optimized(&mut mp, &mut ad);
    let power_on = sense(SenseKey::UnitAttention, 0x29, 0x00);
    let ctl = mp.controller_mut();
    let tur = ad.test_unit_ready(p1).unwrap();
    for _ in 0..2 {
        let got = ad
            .apply(ctl, &tur, &ScsiResponse::check_condition(&power_on), t(10))
            .unwrap();
        assert_eq!(got, Applied::ProbeAgain(tur));
        assert_eq!(ad.path(p1).unwrap().probe_attentions, 1);
        let got = ad.apply(ctl, &tur, &ScsiResponse::GOOD, t(10)).unwrap();
        assert_eq!(got, Applied::Probe(ProbeResult::Up));
        assert_eq!(ad.path(p1).unwrap().probe_attentions, 0);
    }
    let snap = ctl.path_snapshot(p1, &[]).unwrap();
    assert_eq!(snap.link, Link::Up);
    // Each unit attention's notice reached the core, though no probe
    // result went with it.
    assert_eq!(snap.counters.resets, 2);
}
