//! The extended RTPG header given up on a path whose target cuts its
//! answer short, as LIO does (see `extended_answer_cut_short` in
//! `adapter_results.rs`), with the bytes LIO sent in mpath-iscsi's
//! `lio_pr.rs`.

use super::*;

/// LIO's answer to REPORT TARGET PORT GROUPS with the extended header:
/// RETURN DATA LENGTH 16 where SPC-4 has 20, one group (0, active/optimized)
/// claiming 2 ports, and only port 1 sent.
const LIO_EXTENDED: [u8; 20] = [
    0, 0, 0, 16, // RETURN DATA LENGTH
    0x10, 0, 0, 0, // FORMAT TYPE 001b, no IMPLICIT TRANSITION TIME
    0x00, 0xcf, 0, 0, 0, 0, 0, 2, // group 0, AO; 2 ports
    0, 0, 0, 1, // port 1; port 2 cut off
];

/// LIO's answer with the length-only header, which is right.
const LIO_LENGTH_ONLY: [u8; 20] = [
    0, 0, 0, 16, // RETURN DATA LENGTH
    0x00, 0xcf, 0, 0, 0, 0, 0, 2, // group 0, AO; 2 ports
    0, 0, 0, 1, 0, 0, 0, 2, // ports 1 and 2
];

const EXTENDED_CDB: [u8; 12] = [0xA3, 0x2A, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0];
const LENGTH_ONLY_CDB: [u8; 12] = [0xA3, 0x0A, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0];

/// LIO's layout: one target port group, 0, holding relative target ports 1
/// (`p1`) and 2 (`p2`); both paths added without a state, so the core asks
/// for RTPG through each.
fn lio() -> (Mp, ScsiAdapter<8>, PathId, PathId) {
    let mut cfg = Config::DEFAULT;
    cfg.access.explicit_activation = true;
    let mut mp = Mp::new(ScsiAdapter::<8>::core_config(cfg, Tpgs::Both)).unwrap();
    let a = identity_at(Tpgs::Both, 1, 0);
    let b = identity_at(Tpgs::Both, 2, 0);
    let mut ad = ScsiAdapter::<8>::new(a.lu);
    let ctl = mp.controller_mut();
    let p1 = ad
        .add_path(ctl, &a, path_spec(&a, NexusId(1), None).unwrap(), 0, t(0))
        .unwrap();
    let p2 = ad
        .add_path(ctl, &b, path_spec(&b, NexusId(2), None).unwrap(), 0, t(0))
        .unwrap();
    (mp, ad, p1, p2)
}

/// The core's pending RTPG through `via`.
fn refresh_via(cmds: &[ScsiCommand], via: PathId) -> ScsiCommand {
    *cmds
        .iter()
        .find(|c| c.kind() == CommandKind::RefreshAccessState && c.path() == via)
        .unwrap()
}

/// Answers `cmd` with LIO's cut extended answer and returns the reissue.
fn cut_short(mp: &mut Mp, ad: &mut ScsiAdapter<8>, cmd: &ScsiCommand, now: Instant) -> ScsiCommand {
    let resp = ScsiResponse::good(&LIO_EXTENDED);
    match ad.apply(mp.controller_mut(), cmd, &resp, now).unwrap() {
        Applied::Refresh(RtpgApplied::Reissue(c)) => c,
        other => panic!("{other:?}"),
    }
}

#[test]
fn lio_cut_extended_answer_is_asked_again_with_the_length_only_header() {
    let (mut mp, mut ad, p1, p2) = lio();
    let cmds = commands(&mut mp, &ad);
    let first = refresh_via(&cmds, p1);
    assert_eq!(first.cdb(), EXTENDED_CDB);
    let before = mp.controller().group_access(GroupId(0));

    let again = cut_short(&mut mp, &mut ad, &first, t(1));
    assert_eq!(again.cdb(), LENGTH_ONLY_CDB);
    assert_eq!(again.path(), p1);
    assert_eq!(again.data_in_len(), 128);
    // Nothing reached the core; its refresh waits for the reissue.
    let ctl = mp.controller_mut();
    assert!(ctl.refresh_pending(p1).unwrap(), "still in flight");
    assert_eq!(ctl.group_access(GroupId(0)), before);
    assert_eq!(
        ctl.path_snapshot(p1, &[])
            .unwrap()
            .counters
            .refresh_failures,
        0
    );
    // Remembered for the path that answered, not for the other one.
    assert!(!ad.path(p1).unwrap().extended_header);
    assert!(ad.path(p2).unwrap().extended_header);

    assert_eq!(
        ad.apply(ctl, &again, &ScsiResponse::good(&LIO_LENGTH_ONLY), t(2)),
        Ok(Applied::Refresh(RtpgApplied::Applied { groups: 1 }))
    );
    assert!(!ctl.refresh_pending(p1).unwrap());
    assert_eq!(ctl.tier(p1), Ok(Tier::Optimized));
    assert_eq!(ctl.tier(p2), Ok(Tier::Optimized));
}

#[test]
fn after_the_fallback_the_path_asks_for_the_length_only_header_at_once() {
    let (mut mp, mut ad, p1, p2) = lio();
    let cmds = commands(&mut mp, &ad);
    let again = cut_short(&mut mp, &mut ad, &refresh_via(&cmds, p1), t(1));
    ad.apply(
        mp.controller_mut(),
        &again,
        &ScsiResponse::good(&LIO_LENGTH_ONLY),
        t(2),
    )
    .unwrap();

    // The next refresh the core asks through p1 goes out length-only and
    // its answer is applied at once.
    mp.controller_mut()
        .handle_notices(p1, Notices::ACCESS_STATE_CHANGED, t(3))
        .unwrap();
    let next = refresh_via(&commands(&mut mp, &ad), p1);
    assert_eq!(next.cdb(), LENGTH_ONLY_CDB);
    assert_eq!(
        ad.apply(
            mp.controller_mut(),
            &next,
            &ScsiResponse::good(&LIO_LENGTH_ONLY),
            t(4)
        ),
        Ok(Applied::Refresh(RtpgApplied::Applied { groups: 1 }))
    );
    assert!(!mp.controller().refresh_pending(p1).unwrap());

    // p2 still asks for the extended header, and falls back on its own
    // first cut answer.
    let via_p2 = refresh_via(&cmds, p2);
    assert_eq!(via_p2.cdb(), EXTENDED_CDB);
    assert_eq!(
        cut_short(&mut mp, &mut ad, &via_p2, t(5)).cdb(),
        LENGTH_ONLY_CDB
    );
    for via in [p1, p2] {
        let c = ad
            .map_action(&Action::RefreshAccessState { via })
            .unwrap()
            .unwrap();
        assert_eq!(c.cdb(), LENGTH_ONLY_CDB, "{via}");
    }
}

#[test]
fn a_cut_answer_with_nothing_left_to_fall_back_to_is_an_error() {
    let (mut mp, mut ad, p1, p2) = lio();
    let cmds = commands(&mut mp, &ad);
    let again = cut_short(&mut mp, &mut ad, &refresh_via(&cmds, p1), t(1));
    let ctl = mp.controller_mut();

    // The length-only answer cut the way LIO cuts the extended one.
    let mut cut = LIO_LENGTH_ONLY;
    cut[3] = 12;
    let truncated = |field, offset| {
        Err(AdapterError::Wire(WireError::new(
            WireErrorKind::Truncated,
            field,
            offset,
        )))
    };
    assert_eq!(
        ad.apply(ctl, &again, &ScsiResponse::good(&cut[..16]), t(2)),
        truncated("TARGET PORT COUNT", 11)
    );
    // The refresh failed, to be retried after the refresh delay, still
    // length-only: no second reissue, no loop.
    assert!(ctl.refresh_pending(p1).unwrap());
    assert_eq!(ctl.poll_timeout(), Some(t(1002)));
    assert!(!ad.path(p1).unwrap().extended_header);
    // A target that ignores the length-only request and cuts the extended
    // answer again is refused the same way.
    assert_eq!(
        ad.apply(ctl, &again, &ScsiResponse::good(&LIO_EXTENDED), t(2)),
        truncated("TARGET PORT COUNT", 15)
    );

    // Through p2, which still asks for the extended header, neither a cut
    // length-only answer nor an extended answer that arrived shorter than
    // its RETURN DATA LENGTH is the header's fault: both are errors, and
    // the path keeps asking for the extended header.
    let via_p2 = refresh_via(&cmds, p2);
    assert_eq!(
        ad.apply(ctl, &via_p2, &ScsiResponse::good(&cut[..16]), t(3)),
        truncated("TARGET PORT COUNT", 11)
    );
    let mut whole = [0u8; 24];
    whole[..20].copy_from_slice(&LIO_EXTENDED);
    whole[3] = 20;
    whole[20..].copy_from_slice(&[0, 0, 0, 2]);
    assert_eq!(
        ad.apply(ctl, &via_p2, &ScsiResponse::good(&whole[..20]), t(3)),
        truncated("RETURN DATA LENGTH", 0)
    );
    assert!(ad.path(p2).unwrap().extended_header);
    // The same answer whole, as SPC-4 has it, is taken as it is.
    assert_eq!(
        ad.apply(ctl, &via_p2, &ScsiResponse::good(&whole), t(4)),
        Ok(Applied::Refresh(RtpgApplied::Applied { groups: 1 }))
    );
    assert!(ad.path(p2).unwrap().extended_header);
}
