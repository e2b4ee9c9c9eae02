use super::*;
use crate::aen::AsyncEvent;
use crate::ana::{AnaGroupRepr, AnaLogRepr, NsidList};
use crate::classify::Delivery;
use crate::command::NvmeResponse;
use crate::identify::{Anacap, Cmic, IdentifyControllerRepr, IdentifyNamespaceRepr, Nqn};
use crate::identify::{Nmic, Oncs, Rescap, Version};
use crate::log_page::LID_CHANGED_NS_LIST;
use crate::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReleaseAction, ReservationAcquire, ReservationRegister,
    ReservationRelease, ReservationType,
};
use crate::resv_notification::NotificationType;
use crate::resv_notification::ResvNotificationRepr;
use crate::status::{Status, StatusCode};
use alloc::vec;
use alloc::vec::Vec;
use mpath_core::Outcome;
use mpath_core::{Multipath, Tier};

const NSID: u32 = 4;

fn nqn() -> Nqn {
    Nqn::new(b"nqn.2014-08.org.example:a").unwrap()
}

fn nvme_path(cntlid: u16, ana: bool) -> NvmePath {
    let ctrl = IdentifyControllerRepr {
        cmic: if ana {
            Cmic::ANA_REPORTING
        } else {
            Cmic::empty()
        },
        cntlid,
        ver: Version::from_u32(0x0001_0400),
        crdt: Crdt([2, 0, 0]),
        nn: 8,
        oncs: Oncs::RESERVATIONS,
        mnan: 0,
        anatt: 5,
        anacap: Anacap::all(),
        anagrpmax: 4,
        nanagrpid: 2,
        subnqn: Some(nqn()),
    };
    let ns = IdentifyNamespaceRepr {
        nsze: 8,
        ncap: 8,
        nuse: 0,
        nmic: Nmic::SHARED,
        rescap: Rescap::all(),
        anagrpid: 2,
    };
    NvmePath::from_identify(&ctrl, &ns, NSID).unwrap()
}

fn setup(rgo: bool) -> (Multipath<4>, NvmeAdapter<4>, PathId, PathId) {
    let mut mp = Multipath::<4>::new(NvmeAdapter::<4>::core_config(Config::DEFAULT)).unwrap();
    let mut ad = NvmeAdapter::<4>::new(NsIdentity::new(nqn(), NSID).unwrap()).with_rgo(rgo);
    let t0 = Instant::from_nanos(0);
    let a = ad
        .add_path(
            mp.controller_mut(),
            &nvme_path(1, true),
            Some(AnaState::Optimized),
            t0,
        )
        .unwrap();
    let b = ad
        .add_path(mp.controller_mut(), &nvme_path(2, false), None, t0)
        .unwrap();
    while mp.controller_mut().poll_action().is_some() {}
    (mp, ad, a, b)
}

/// The ANA log read a refresh through `via` sends (16 + 2 x 32 + 8 x 4
/// bytes for the controllers of [`nvme_path`]).
fn ana_refresh(via: PathId) -> NvmeCommand {
    NvmeCommand::GetLogPage {
        path: via,
        purpose: LogPurpose::AnaRefresh,
        cmd: GetLogPage::ana(112, false).unwrap(),
    }
}

fn page(rgo: bool, grpid: u32, state: AnaState) -> Vec<u8> {
    let nsids = [NSID];
    let groups = [AnaGroupRepr {
        grpid,
        change_count: 1,
        state,
        nsids: if rgo {
            NsidList::CountOnly(1)
        } else {
            NsidList::Slice(&nsids)
        },
    }];
    let repr = AnaLogRepr {
        change_count: 1,
        groups: &groups,
    };
    let mut buf = vec![0; repr.buffer_len()];
    repr.emit(&mut buf).unwrap();
    buf
}

#[test]
fn actions_map_to_commands() {
    let (_mp, ad, a, b) = setup(false);
    let ga = ad.path(a).unwrap().group;
    // 16 + 2 x 32 + 8 x 4 = 112 bytes: NUMD 27 (1Bh).
    let ana_read = |path, purpose| {
        Ok(Some(NvmeCommand::GetLogPage {
            path,
            purpose,
            cmd: GetLogPage::ana(112, false).unwrap(),
        }))
    };
    let unknown = PathId::from_raw(0x0001_0003);
    let table: [(Action, Result<Option<NvmeCommand>, AdapterError>); 9] = [
        (
            Action::RefreshAccessState { via: a },
            ana_read(a, LogPurpose::AnaRefresh),
        ),
        (Action::Probe(a), ana_read(a, LogPurpose::AnaProbe)),
        (
            Action::TransitionTimedOut { group: ga },
            Ok(Some(NvmeCommand::ResetController { path: a, cntlid: 1 })),
        ),
        (
            Action::ActivateGroup { group: ga, via: a },
            Err(AdapterError::ActivationUnsupported { group: ga }),
        ),
        (Action::HeadLive, Ok(None)),
        (Action::HeadRemoved, Ok(None)),
        (
            Action::RefreshAccessState { via: b },
            Err(AdapterError::NoAnaReporting(b)),
        ),
        (
            Action::Probe(unknown),
            Err(AdapterError::UnknownPath(unknown)),
        ),
        (
            Action::TransitionTimedOut { group: GroupId(77) },
            Err(AdapterError::UnknownGroup(GroupId(77))),
        ),
    ];
    for (action, expected) in table {
        assert_eq!(ad.map_action(&action), expected, "{action:?}");
    }
    let Ok(Some(cmd)) = ad.map_action(&Action::Probe(a)) else {
        panic!()
    };
    assert_eq!(cmd.cdws(), [0x001B_000C, 0, 0, 0, 0, 0]);
    // A controller without ANA is probed with the smallest ANA read.
    let Ok(Some(cmd)) = ad.map_action(&Action::Probe(b)) else {
        panic!()
    };
    assert_eq!(cmd.data_in_len(), 16);
}

#[test]
fn probe_results_follow_the_checker_table() {
    use ProbeResult::{Down, Pending, Retry, Up};
    use StatusCode as C;
    let crdt = Crdt([1, 1, 1]);
    let done = |code, dnr| Delivery::Completed(Status::new(code).with_dnr(dnr));
    let ana = Notices::ACCESS_STATE_CHANGED;
    let none = Notices::empty();
    let table = [
        (done(C::SUCCESS, false), Up, none),
        (done(C::RESERVATION_CONFLICT, true), Up, none),
        (done(C::ANA_INACCESSIBLE, false), Up, ana),
        (done(C::ANA_PERSISTENT_LOSS, true), Up, ana),
        (done(C::ANA_TRANSITION, false), Pending, ana),
        (done(C::INTERNAL_PATH_ERROR, false), Down, none),
        (done(C::CONTROLLER_PATHING_ERROR, false), Down, none),
        (done(C::HOST_PATHING_ERROR, false), Down, none),
        (done(C::ABORTED_BY_HOST, false), Down, none),
        (done(C::INVALID_LOG_PAGE, true), Up, none),
        (done(C::INVALID_FIELD, true), Up, none),
        (done(C::INTERNAL_ERROR, true), Down, none),
        (done(C::INTERNAL_ERROR, false), Retry, none),
        (done(C::NAMESPACE_NOT_READY, false), Retry, none),
        (Delivery::Timeout, Down, none),
        (Delivery::ConnectionLost, Down, none),
        (Delivery::ControllerReset, Down, none),
    ];
    for (delivery, result, notices) in table {
        assert_eq!(
            probe_result(delivery, &crdt),
            (result, notices),
            "{delivery:?}"
        );
    }
}

#[test]
fn probe_with_ana_status_asks_for_the_log() {
    let (mut mp, mut ad, a, _) = setup(false);
    let t1 = Instant::from_nanos(1);
    let probe = ad.ana_log_command(a, LogPurpose::AnaProbe).unwrap();
    let status = Delivery::Completed(Status::new(StatusCode::ANA_INACCESSIBLE));
    let r = ad
        .apply(
            mp.controller_mut(),
            &probe,
            &NvmeResponse::delivery(status),
            t1,
        )
        .unwrap();
    assert_eq!(r, Applied::Probe(ProbeResult::Up));
    assert_eq!(
        mp.controller_mut().poll_action(),
        Some(Action::RefreshAccessState { via: a })
    );
}

#[test]
fn aen_follow_ups() {
    let (mut mp, ad, a, _) = setup(false);
    let t1 = Instant::from_nanos(1);
    let ctl = mp.controller_mut();
    let read = |purpose, cmd| {
        AenFollowUp::ReadLog(NvmeCommand::GetLogPage {
            path: a,
            purpose,
            cmd,
        })
    };
    let table = [
        (
            AsyncEvent::ANA_CHANGE.emit(),
            AenFollowUp::AnaRefreshRequested,
        ),
        (
            AsyncEvent::RESERVATION_LOG_AVAILABLE.emit(),
            read(
                LogPurpose::ReservationNotification,
                GetLogPage::reservation_notification(),
            ),
        ),
        (
            AsyncEvent::NAMESPACE_ATTRIBUTE_CHANGED.emit(),
            read(
                LogPurpose::ChangedNamespaceList,
                GetLogPage::new(LID_CHANGED_NS_LIST, 4096).unwrap(),
            ),
        ),
        (0x0002_0001, AenFollowUp::Nothing),
    ];
    for (dw0, expected) in table {
        assert_eq!(ad.apply_aen(ctl, a, dw0, t1), Ok(expected), "{dw0:#x}");
    }
}

#[test]
fn rgo_logs_are_matched_by_group() {
    let (mut mp, mut ad, a, _) = setup(true);
    let t1 = Instant::from_nanos(1);
    let ctl = mp.controller_mut();
    assert_eq!(
        ad.apply(
            ctl,
            &ana_refresh(a),
            &NvmeResponse::good(&page(true, 2, AnaState::NonOptimized)),
            t1
        ),
        Ok(Applied::Refresh { paths: 1 })
    );
    assert_eq!(ctl.tier(a).unwrap(), Tier::NonOptimized);
    assert_eq!(
        ad.apply(
            ctl,
            &ana_refresh(a),
            &NvmeResponse::good(&page(true, 3, AnaState::Optimized)),
            t1
        ),
        Err(AdapterError::GroupNotInLog {
            path: a,
            anagrpid: 2
        })
    );
    // ANAGRPID above ANAGRPMAX (4): the parser names the field.
    assert!(matches!(
        ad.apply(
            ctl,
            &ana_refresh(a),
            &NvmeResponse::good(&page(true, 9, AnaState::Optimized)),
            t1
        ),
        Err(AdapterError::Wire(crate::Error::Invalid {
            field: "ANAGRPID",
            offset: 16,
            value: 9
        }))
    ));
    assert_eq!(ctl.tier(a).unwrap(), Tier::NonOptimized);
}

#[test]
fn nsid_lists_move_the_namespace_between_groups() {
    let (mut mp, mut ad, a, b) = setup(false);
    let t1 = Instant::from_nanos(1);
    let group = ad.path(a).unwrap().group;
    let ctl = mp.controller_mut();
    assert_eq!(
        ad.apply(
            ctl,
            &ana_refresh(a),
            &NvmeResponse::good(&page(false, 3, AnaState::NonOptimized)),
            t1
        ),
        Ok(Applied::Refresh { paths: 1 })
    );
    let p = ad.path(a).unwrap();
    assert_eq!((p.anagrpid, p.group), (3, group));
    assert_eq!(
        ad.apply(
            ctl,
            &ana_refresh(b),
            &NvmeResponse::good(&page(false, 3, AnaState::NonOptimized)),
            t1
        ),
        Err(AdapterError::NoAnaReporting(b))
    );
}

#[test]
fn groups_are_per_controller_and_reused() {
    let (_mp, ad, a, b) = setup(false);
    let (ga, gb) = (ad.path(a).unwrap().group, ad.path(b).unwrap().group);
    assert_eq!((ga, gb), (GroupId(0), GroupId(1)));
    assert_eq!(ad.group_for(1, 2), Ok(ga));
    assert_eq!(ad.group_for(9, 2), Ok(GroupId(2)));
    let mut other = nvme_path(3, true);
    other.identity = NsIdentity::new(nqn(), NSID + 1).unwrap();
    assert_eq!(ad.path_spec(&other, None), Err(AdapterError::WrongHead));
    // Specs always carry a state; a change is added as inaccessible first.
    let spec = |ana, access| ad.path_spec(&nvme_path(3, ana), access).unwrap().access;
    let s = |state| Some(GroupAccess::new(state));
    assert_eq!(spec(false, None), s(AccessState::Optimized));
    assert_eq!(spec(true, None), s(AccessState::Inaccessible));
    assert_eq!(
        spec(true, Some(AnaState::Change)),
        s(AccessState::Inaccessible)
    );
    assert_eq!(
        spec(true, Some(AnaState::NonOptimized)),
        s(AccessState::NonOptimized)
    );
}

#[test]
fn full_table_and_change_at_discovery() {
    let (mut mp, mut ad, _, _) = setup(false);
    let t1 = Instant::from_nanos(1);
    let c = ad
        .add_path(
            mp.controller_mut(),
            &nvme_path(3, true),
            Some(AnaState::Change),
            t1,
        )
        .unwrap();
    let g = ad.path(c).unwrap().group;
    assert_eq!(
        mp.controller().group_access(g),
        Some(GroupAccess::new(AccessState::Change))
    );
    ad.add_path(mp.controller_mut(), &nvme_path(4, true), None, t1)
        .unwrap();
    assert_eq!(
        ad.add_path(mp.controller_mut(), &nvme_path(5, true), None, t1),
        Err(AdapterError::PathTableFull)
    );
    assert_eq!(mp.controller().path_ids().count(), 4);
}

#[test]
fn unmapped_actions_are_settled() {
    let (mut mp, ad, a, b) = setup(false);
    let t1 = Instant::from_nanos(1);
    let ctl = mp.controller_mut();
    // A refresh through the controller without ANA: optimized, done.
    ctl.handle_notices(b, Notices::ACCESS_STATE_CHANGED, t1)
        .unwrap();
    let action = ctl.poll_action().unwrap();
    assert_eq!(action, Action::RefreshAccessState { via: b });
    assert!(ad.map_action(&action).is_err());
    ad.settle_unmapped(ctl, &action, t1).unwrap();
    assert_eq!(ctl.tier(b).unwrap(), Tier::Optimized);
    assert_eq!(ctl.poll_action(), None);
    // No activation is pending in the core: it says so.
    let group = ad.path(a).unwrap().group;
    assert!(matches!(
        ad.settle_unmapped(ctl, &Action::ActivateGroup { group, via: a }, t1),
        Err(AdapterError::Core(mpath_core::Error::NotPending { .. }))
    ));
}

#[test]
fn reservation_commands_are_host_scoped() {
    use crate::command::{RegistrationScope, REGISTRATION_SCOPE};
    assert_eq!(REGISTRATION_SCOPE, RegistrationScope::Host);
    let (_mp, ad, a, b) = setup(false);
    let reg = ReservationRegister {
        action: RegisterAction::Register,
        iekey: true,
        cptpl: Cptpl::Persist,
        crkey: 0,
        nrkey: 0xABCD,
    };
    // Any path of the head will do; the command targets the namespace.
    for path in [a, b] {
        let cmd = ad.reservation_register(path, reg).unwrap();
        assert_eq!(
            (cmd.path(), cmd.nsid(), cmd.is_admin()),
            (path, NSID, false)
        );
        assert_eq!(cmd.opcode(), Some(0x0D));
        assert_eq!(cmd.cdws(), [0xC000_0008, 0, 0, 0, 0, 0]);
        let mut data = [0u8; 16];
        assert_eq!(cmd.emit_data_out(&mut data), Ok(16));
        assert_eq!(ReservationRegister::parse(cmd.cdws()[0], &data), Ok(reg));
    }
    let acq = ReservationAcquire {
        action: AcquireAction::Acquire,
        iekey: false,
        rtype: ReservationType::WriteExclusive,
        crkey: 0xABCD,
        prkey: 0,
    };
    let cmd = ad.reservation_acquire(a, acq).unwrap();
    assert_eq!(
        (cmd.opcode(), cmd.cdws()[0], cmd.data_out_len()),
        (Some(0x11), 0x100, 16)
    );
    let rel = ReservationRelease {
        action: ReleaseAction::Release,
        iekey: false,
        rtype: Some(ReservationType::WriteExclusive),
        crkey: 0xABCD,
    };
    let cmd = ad.reservation_release(a, rel).unwrap();
    assert_eq!(
        (cmd.opcode(), cmd.cdws()[0], cmd.data_out_len()),
        (Some(0x15), 0x100, 8)
    );
    let cmd = ad.reservation_report(a, 4096, true).unwrap();
    assert_eq!(cmd.cdws(), [1023, 1, 0, 0, 0, 0]);
    assert_eq!((cmd.data_in_len(), cmd.data_out_len()), (4096, 0));
    assert!(matches!(
        ad.reservation_report(a, 6, true),
        Err(AdapterError::Wire(crate::Error::Invalid {
            field: "NUMD",
            ..
        }))
    ));
    let gone = PathId::from_raw(0x0009_0001);
    assert_eq!(
        ad.reservation_register(gone, reg),
        Err(AdapterError::UnknownPath(gone))
    );
}

#[test]
fn reservation_notifications_reach_the_core() {
    let (mut mp, mut ad, a, _) = setup(false);
    let t1 = Instant::from_nanos(1);
    let read = NvmeCommand::GetLogPage {
        path: a,
        purpose: LogPurpose::ReservationNotification,
        cmd: GetLogPage::reservation_notification(),
    };
    let mut log = [0u8; crate::resv_notification::LOG_LEN];
    for (nsid, kind) in [
        (NSID, NotificationType::RegistrationPreempted),
        (NSID + 1, NotificationType::ReservationReleased),
    ] {
        let repr = ResvNotificationRepr {
            log_page_count: 1,
            kind,
            available: 0,
            nsid,
        };
        repr.emit(&mut log).unwrap();
        assert_eq!(
            ad.apply(mp.controller_mut(), &read, &NvmeResponse::good(&log), t1),
            Ok(Applied::Notification(repr))
        );
    }
    assert!(matches!(
        ad.apply(
            mp.controller_mut(),
            &read,
            &NvmeResponse::good(&log[..8]),
            t1
        ),
        Err(AdapterError::Wire(crate::Error::Truncated { .. }))
    ));
}

#[test]
fn completions_use_the_path_crdt() {
    let (_mp, ad, a, _) = setup(false);
    let status = Status::new(StatusCode::NAMESPACE_NOT_READY).with_crd(1);
    let c = ad
        .classify_completion(a, Delivery::Completed(status))
        .unwrap();
    assert_eq!(
        c.outcome,
        Outcome::Retry {
            reason: mpath_core::RetryReason::Transient,
            delay: mpath_core::Duration::from_millis(200)
        }
    );
}
