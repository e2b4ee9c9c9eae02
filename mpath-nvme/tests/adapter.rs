//! The NVMe adapter driving a real `mpath_core::Multipath`: two controllers
//! of one subsystem reach one namespace; ANA logs, events, I/O errors and
//! ANATT expiry go through the adapter, as an embedder would wire them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use mpath_core::{
    AccessState, Action, Config, DataPlane, Device, Disposition, Duration, GroupAccess, Instant,
    Io, Link, Multipath, NexusId, Notices, Outcome, PathErrorKind, PathId, ProbeResult, Ticket,
    Tier,
};
use mpath_nvme::aen::AsyncEvent;
use mpath_nvme::ana::{AnaGroupRepr, AnaLogRepr, AnaState, NsidList};
use mpath_nvme::classify::Delivery;
use mpath_nvme::identify::{
    Anacap, Cmic, Crdt, IdentifyControllerRepr, IdentifyNamespaceRepr, Nmic, Nqn, Oncs, Rescap,
    Version,
};
use mpath_nvme::log_page::{GetLogPage, LID_CHANGED_NS_LIST};
use mpath_nvme::status::{Status, StatusCode};
use mpath_nvme::{
    AdapterError, AenFollowUp, Applied, CommandKind, LogPurpose, NsIdentity, NvmeAdapter,
    NvmeCommand, NvmePath, NvmeResponse, REGISTRATION_SCOPE,
};

const NSID: u32 = 1;
const ANAGRPID: u32 = 1;
const ANATT_S: u8 = 10;

type Adapter = NvmeAdapter<8>;
type Mp = Multipath<8>;

fn nqn() -> Nqn {
    Nqn::new(b"nqn.2014-08.org.example:subsys").unwrap()
}

fn identify_ctrl(cntlid: u16) -> IdentifyControllerRepr {
    IdentifyControllerRepr {
        cmic: Cmic::MULTI_PORT | Cmic::MULTI_CONTROLLER | Cmic::ANA_REPORTING,
        cntlid,
        ver: Version::from_u32(0x0002_0000),
        crdt: Crdt([1, 5, 10]),
        nn: 16,
        oncs: Oncs::RESERVATIONS,
        mnan: 0,
        anatt: ANATT_S,
        anacap: Anacap::all(),
        anagrpmax: 8,
        nanagrpid: 8,
        subnqn: Some(nqn()),
    }
}

fn nvme_path(cntlid: u16) -> NvmePath {
    let ns = IdentifyNamespaceRepr {
        nsze: 1 << 20,
        ncap: 1 << 20,
        nuse: 0,
        nmic: Nmic::SHARED,
        rescap: Rescap::WRITE_EXCLUSIVE,
        anagrpid: ANAGRPID,
    };
    NvmePath::from_identify(&identify_ctrl(cntlid), &ns, NSID).unwrap()
}

/// The ANA log page one controller returns: our namespace's group in
/// `state`, plus an unrelated group 2 with namespace 9.
fn ana_log(change_count: u64, state: AnaState) -> Vec<u8> {
    let ours = [NSID];
    let other = [9u32];
    let groups = [
        AnaGroupRepr {
            grpid: 2,
            change_count,
            state: AnaState::Optimized,
            nsids: NsidList::Slice(&other),
        },
        AnaGroupRepr {
            grpid: ANAGRPID,
            change_count,
            state,
            nsids: NsidList::Slice(&ours),
        },
    ];
    let repr = AnaLogRepr {
        change_count,
        groups: &groups,
    };
    let mut buf = vec![0u8; repr.buffer_len()];
    repr.emit(&mut buf).unwrap();
    buf
}

fn t(ms: u64) -> Instant {
    Instant::from_nanos(ms * 1_000_000)
}

/// The ANA log read a refresh through `via` sends.
fn refresh(ad: &Adapter, via: PathId) -> NvmeCommand {
    ad.ana_log_command(via, LogPurpose::AnaRefresh).unwrap()
}

/// Apply an ANA log read through `via` as the core's refresh.
fn apply_log(
    mp: &mut Mp,
    ad: &mut Adapter,
    via: PathId,
    log: &[u8],
    now: Instant,
) -> Result<usize, AdapterError> {
    let cmd = refresh(ad, via);
    match ad.apply(mp.controller_mut(), &cmd, &NvmeResponse::good(log), now)? {
        Applied::Refresh { paths } => Ok(paths),
        other => panic!("a refresh applied as {other:?}"),
    }
}

fn actions(mp: &mut Mp) -> Vec<Action> {
    core::iter::from_fn(|| mp.controller_mut().poll_action()).collect()
}

fn dispatch(d: Disposition) -> Ticket {
    match d {
        Disposition::Dispatch(t) => t,
        other => panic!("expected a dispatch, got {other:?}"),
    }
}

/// The dwords of the whole-ANA-log read: 16 + 8 x 32 + 16 x 4 = 336 bytes,
/// 84 dwords, NUMD 83 (53h), LID 0Ch, no RGO, RAE clear.
const ANA_CDWS: [u32; 6] = [0x0053_000C, 0, 0, 0, 0, 0];

fn assert_ana_read(cmd: &NvmeCommand, via: PathId, purpose: LogPurpose) {
    assert_eq!(cmd.path(), via);
    assert!(cmd.is_admin());
    assert_eq!(cmd.opcode(), Some(GetLogPage::OPCODE));
    assert_eq!(cmd.nsid(), 0xFFFF_FFFF);
    assert_eq!(cmd.cdws(), ANA_CDWS);
    assert_eq!(cmd.data_in_len(), 336);
    match cmd {
        NvmeCommand::GetLogPage { purpose: p, .. } => assert_eq!(*p, purpose),
        other => panic!("expected a log read, got {other:?}"),
    }
}

/// Two controllers, each path's refresh answered: controller 1 optimized,
/// controller 2 non-optimized.
fn two_paths() -> (Mp, Adapter, PathId, PathId) {
    let cfg = Adapter::core_config(Config::DEFAULT);
    let mut mp = Mp::new(cfg).unwrap();
    let mut ad = Adapter::new(NsIdentity::new(nqn(), NSID).unwrap());
    let p1 = ad
        .add_path(mp.controller_mut(), &nvme_path(1), None, t(0))
        .unwrap();
    let p2 = ad
        .add_path(mp.controller_mut(), &nvme_path(2), None, t(0))
        .unwrap();
    // Unknown ANA state: neither path carries I/O until its log is read.
    assert_eq!(mp.controller().active_tier(), None);
    let mut refreshed = Vec::new();
    for action in actions(&mut mp) {
        let Some(cmd) = ad.map_action(&action).unwrap() else {
            continue;
        };
        assert_ana_read(&cmd, cmd.path(), LogPurpose::AnaRefresh);
        let state = if cmd.path() == p1 {
            AnaState::Optimized
        } else {
            AnaState::NonOptimized
        };
        let applied = ad
            .apply(
                mp.controller_mut(),
                &cmd,
                &NvmeResponse::good(&ana_log(1, state)),
                t(1),
            )
            .unwrap();
        let Applied::Refresh { paths: n } = applied else {
            panic!("{applied:?}")
        };
        assert_eq!(n, 1);
        refreshed.push(cmd.path());
    }
    assert_eq!(refreshed, [p1, p2]);
    // The first usable path makes the head live.
    assert_eq!(actions(&mut mp), [Action::HeadLive]);
    (mp, ad, p1, p2)
}

#[test]
fn ana_states_per_controller_then_change_then_anatt_reset() {
    let (mut mp, ad, p1, p2) = two_paths();
    let g1 = ad.path(p1).unwrap().group;
    let g2 = ad.path(p2).unwrap().group;
    // Same ANAGRPID, different controllers: different core groups.
    assert_ne!(g1, g2);
    assert_eq!(ad.path(p1).unwrap().anagrpid, ad.path(p2).unwrap().anagrpid);
    let ctl = mp.controller();
    assert_eq!(ctl.tier(p1).unwrap(), Tier::Optimized);
    assert_eq!(ctl.tier(p2).unwrap(), Tier::NonOptimized);
    assert_eq!(ctl.path_ids().count(), 2);
    for tag in 0..8 {
        let tk = dispatch(mp.submit(Io::read(tag, 4096, 3), t(2)).unwrap());
        assert_eq!(tk.path(), p1, "only the optimized path is selected");
        mp.complete_ok(tk, t(2)).unwrap();
    }

    // ANA change event on controller 1: the core asks for a re-read through
    // path 1, which the adapter turns into the ANA Get Log Page.
    let follow = ad
        .apply_aen(mp.controller_mut(), p1, AsyncEvent::ANA_CHANGE.emit(), t(3))
        .unwrap();
    assert_eq!(follow, AenFollowUp::AnaRefreshRequested);
    let acts = actions(&mut mp);
    assert_eq!(acts, [Action::RefreshAccessState { via: p1 }]);
    let cmd = ad.map_action(&acts[0]).unwrap().unwrap();
    assert_ana_read(&cmd, p1, LogPurpose::AnaRefresh);

    // The new page says ANA Change: path 1 is out, I/O goes to path 2.
    let t_change = t(4);
    let mut ad = ad;
    apply_log(
        &mut mp,
        &mut ad,
        p1,
        &ana_log(2, AnaState::Change),
        t_change,
    )
    .unwrap();
    assert_eq!(
        mp.controller().group_access(g1),
        Some(GroupAccess::new(AccessState::Change))
    );
    assert_eq!(mp.controller().tier(p1).unwrap(), Tier::Ineligible);
    let tk = dispatch(mp.submit(Io::read(100, 4096, 3), t(5)).unwrap());
    assert_eq!(tk.path(), p2);
    mp.complete_ok(tk, t(5)).unwrap();

    // Step the virtual clock: the core polls the group while it transitions
    // (answered with the same page) until ANATT, taken from Identify
    // Controller rather than the core's 60 s default, runs out.
    let mut reset = None;
    let mut now = t_change;
    while reset.is_none() {
        now = mp.controller().poll_timeout().expect("a timer is armed");
        assert!(now <= t_change + Duration::from_secs(u64::from(ANATT_S)));
        mp.controller_mut().handle_timeout(now).unwrap();
        for action in actions(&mut mp) {
            match ad.map_action(&action).unwrap() {
                Some(
                    cmd @ NvmeCommand::GetLogPage {
                        purpose: LogPurpose::AnaRefresh,
                        ..
                    },
                ) => {
                    let log = ana_log(2, AnaState::Change);
                    let resp = NvmeResponse::good(&log);
                    ad.apply(mp.controller_mut(), &cmd, &resp, now).unwrap();
                }
                Some(cmd @ NvmeCommand::GetLogPage { .. }) => {
                    // A probe that came back without its page.
                    let resp = NvmeResponse::delivery(Delivery::Completed(Status::SUCCESS));
                    let r = ad.apply(mp.controller_mut(), &cmd, &resp, now).unwrap();
                    assert_eq!(r, Applied::Probe(ProbeResult::Up));
                }
                Some(cmd @ NvmeCommand::ResetController { .. }) => reset = Some(cmd),
                other => panic!("unexpected {other:?} for {action:?}"),
            }
        }
    }
    assert_eq!(now, t_change + Duration::from_secs(u64::from(ANATT_S)));
    assert_eq!(
        reset,
        Some(NvmeCommand::ResetController {
            path: p1,
            cntlid: 1
        })
    );
    // Still only path 2 carries I/O.
    let tk = dispatch(mp.submit(Io::read(101, 4096, 3), now).unwrap());
    assert_eq!(tk.path(), p2);
}

#[test]
fn ana_transition_status_fails_over_and_asks_for_the_log() {
    let (mut mp, mut ad, p1, p2) = two_paths();
    // Make both optimized so the failed path was a real candidate.
    let refresh = |mp: &mut Mp, ad: &mut Adapter, p, s| {
        apply_log(mp, ad, p, &ana_log(3, s), t(2)).unwrap();
    };
    refresh(&mut mp, &mut ad, p2, AnaState::Optimized);
    assert_eq!(actions(&mut mp), []);

    let tk = dispatch(mp.submit(Io::write(7, 4096, 3), t(3)).unwrap());
    let failed = tk.path();
    let other = if failed == p1 { p2 } else { p1 };
    let status = Status::new(StatusCode::ANA_TRANSITION);
    assert_eq!((status.sct(), status.sc()), (3, 3));
    let completion = ad
        .classify_completion(failed, Delivery::Completed(status))
        .unwrap();
    assert_eq!(
        completion.outcome,
        Outcome::PathError(PathErrorKind::Transitioning)
    );
    let d = mp.complete(tk, completion, t(3)).unwrap();
    // A write waits for the quiesce time before it is resubmitted.
    assert_eq!(d, Disposition::Queued);
    let group = ad.path(failed).unwrap().group;
    assert_eq!(
        mp.controller().group_access(group),
        Some(GroupAccess::new(AccessState::Change))
    );
    assert_eq!(mp.controller().tier(failed).unwrap(), Tier::Ineligible);
    let acts = actions(&mut mp);
    assert_eq!(acts, [Action::RefreshAccessState { via: failed }]);
    assert_ana_read(
        &ad.map_action(&acts[0]).unwrap().unwrap(),
        failed,
        LogPurpose::AnaRefresh,
    );
    // After the quiesce time the write goes to the other controller.
    let at = mp.controller().poll_timeout().unwrap();
    mp.controller_mut().handle_timeout(at).unwrap();
    let retried = actions(&mut mp)
        .into_iter()
        .find_map(|a| match a {
            Action::Dispatch(tk) => Some(tk),
            _ => None,
        })
        .expect("the held write is dispatched");
    assert_eq!(retried.path(), other);
    assert_eq!(retried.io().tag.0, 7);
}

#[test]
fn malformed_ana_log_fails_the_refresh_and_changes_nothing() {
    let (mut mp, mut ad, p1, _p2) = two_paths();
    let g1 = ad.path(p1).unwrap().group;
    ad.apply_aen(mp.controller_mut(), p1, AsyncEvent::ANA_CHANGE.emit(), t(2))
        .unwrap();
    assert_eq!(actions(&mut mp), [Action::RefreshAccessState { via: p1 }]);

    // State byte of the second descriptor (16 + 36 + 16) set to 05h.
    let mut bad = ana_log(4, AnaState::Inaccessible);
    bad[68] = 0x05;
    let err = apply_log(&mut mp, &mut ad, p1, &bad, t(3)).unwrap_err();
    assert_eq!(
        err,
        AdapterError::Wire(mpath_nvme::Error::Invalid {
            field: "ANA state",
            offset: 68,
            value: 5
        })
    );
    // A page that does not list the namespace says nothing about the path.
    let mut missing = ana_log(4, AnaState::Inaccessible);
    missing.truncate(missing.len() - 4);
    missing[52 + 4] = 0; // NNSIDS of our group: 0
                         // Unchanged: still optimized, still selected.
    assert_eq!(
        mp.controller().group_access(g1),
        Some(GroupAccess::new(AccessState::Optimized))
    );
    assert_eq!(mp.controller().tier(p1).unwrap(), Tier::Optimized);
    // The refresh failed: nothing now, a retry after the refresh delay.
    assert!(actions(&mut mp).is_empty());
    let at = mp.controller().poll_timeout().unwrap();
    assert_eq!(at, t(3) + Config::DEFAULT.access.refresh_delay);
    mp.controller_mut().handle_timeout(at).unwrap();
    assert_eq!(actions(&mut mp), [Action::RefreshAccessState { via: p1 }]);
    let err = apply_log(&mut mp, &mut ad, p1, &missing, at).unwrap_err();
    assert_eq!(
        err,
        AdapterError::NsidNotInLog {
            path: p1,
            nsid: NSID
        }
    );
    assert_eq!(mp.controller().tier(p1).unwrap(), Tier::Optimized);
    assert_eq!(
        mp.controller().group_access(g1),
        Some(GroupAccess::new(AccessState::Optimized))
    );
}

#[test]
fn stale_paths_are_typed_errors() {
    let (mut mp, mut ad, p1, p2) = two_paths();
    let read = refresh(&ad, p1);
    ad.remove_path(mp.controller_mut(), p1, t(5)).unwrap();
    let log = ana_log(5, AnaState::Optimized);
    assert_eq!(
        ad.apply(mp.controller_mut(), &read, &NvmeResponse::good(&log), t(6)),
        Err(AdapterError::UnknownPath(p1))
    );
    assert_eq!(
        ad.map_action(&Action::Probe(p1)),
        Err(AdapterError::UnknownPath(p1))
    );
    assert_eq!(
        ad.classify_completion(p1, Delivery::Timeout),
        Err(AdapterError::UnknownPath(p1))
    );
    // The other path carries on, now the only one.
    assert_eq!(mp.controller().tier(p2).unwrap(), Tier::NonOptimized);
    // A controller coming back with a new CNTLID reuses the freed group id
    // and does not inherit the old controller's state.
    let p3 = ad
        .add_path(mp.controller_mut(), &nvme_path(3), None, t(7))
        .unwrap();
    let g3 = ad.path(p3).unwrap().group;
    assert_eq!(
        mp.controller().group_access(g3),
        Some(GroupAccess::new(AccessState::Inaccessible))
    );
    assert_eq!(mp.controller().tier(p3).unwrap(), Tier::Ineligible);
    assert_eq!(ad.path_spec(&nvme_path(4), None).unwrap().nexus, NexusId(4));
}

/// A probe on a path the adapter does not know (forgotten here; removed
/// paths answer the same): `map_action` and `apply` refuse it with
/// `UnknownPath` and change nothing, and `settle_unmapped` tells the device
/// the path is down, since nothing can be sent on it. Driven through a
/// `Device`, which takes the adapter's inputs like a bare controller.
#[test]
fn a_probe_on_an_unknown_path_is_refused_as_unknown_path() {
    let cfg = Adapter::core_config(Config::DEFAULT);
    let mut dev: Device<DataPlane<8>, 8> =
        Device::new(DataPlane::new(), cfg, REGISTRATION_SCOPE).unwrap();
    let mut ad = Adapter::new(NsIdentity::new(nqn(), NSID).unwrap());
    let p = ad
        .add_path(&mut dev, &nvme_path(1), Some(AnaState::Optimized), t(0))
        .unwrap();
    while dev.poll_action().is_some() {}
    let probe = ad.ana_log_command(p, LogPurpose::AnaProbe).unwrap();
    assert!(ad.forget(p));
    let action = Action::Probe(p);
    assert_eq!(ad.map_action(&action), Err(AdapterError::UnknownPath(p)));
    let before = dev.controller().path_snapshot(p, &[]).unwrap();
    assert_eq!(
        ad.apply(&mut dev, &probe, &NvmeResponse::SUCCESS, t(1)),
        Err(AdapterError::UnknownPath(p))
    );
    assert_eq!(dev.controller().path_snapshot(p, &[]).unwrap(), before);
    assert_eq!(
        ad.apply_aen(&mut dev, p, AsyncEvent::ANA_CHANGE.emit(), t(1)),
        Err(AdapterError::UnknownPath(p))
    );
    assert_eq!(
        ad.classify_completion(p, Delivery::Timeout),
        Err(AdapterError::UnknownPath(p))
    );
    ad.settle_unmapped(&mut dev, &action, t(1)).unwrap();
    assert_eq!(
        dev.controller().path_snapshot(p, &[]).unwrap().link,
        Link::Down
    );
}

/// `apply` routes by the command: a failed refresh fails the core's
/// refresh and names the outcome; more data than asked for is refused;
/// the follow-up reads and the reset need nothing of the core; reservation
/// responses belong to `pr_reply`, and `apply`'s to `apply`.
#[test]
fn apply_routes_every_response_by_its_command() {
    let (mut mp, mut ad, p1, _) = two_paths();
    let now = t(2);
    let ctl = mp.controller_mut();
    ctl.handle_notices(p1, Notices::ACCESS_STATE_CHANGED, now)
        .unwrap();
    assert_eq!(
        ctl.poll_action(),
        Some(Action::RefreshAccessState { via: p1 })
    );
    let read = refresh(&ad, p1);
    assert_eq!(read.kind(), CommandKind::RefreshAccessState);
    assert_eq!(
        ad.apply(ctl, &read, &NvmeResponse::delivery(Delivery::Timeout), now),
        Err(AdapterError::CommandFailed {
            command: CommandKind::RefreshAccessState,
            outcome: Outcome::PathError(PathErrorKind::Timeout),
        })
    );
    // Failed, not finished: read again after the refresh delay.
    assert!(ctl.refresh_pending(p1).unwrap());
    assert_eq!(
        ctl.poll_timeout(),
        Some(now + Config::DEFAULT.access.refresh_delay)
    );
    let big = vec![0u8; 337];
    assert_eq!(
        ad.apply(ctl, &read, &NvmeResponse::good(&big), now),
        Err(AdapterError::UnexpectedData {
            command: CommandKind::RefreshAccessState,
            len: 337,
            allowed: 336
        })
    );
    let changed = NvmeCommand::GetLogPage {
        path: p1,
        purpose: LogPurpose::ChangedNamespaceList,
        cmd: GetLogPage::new(LID_CHANGED_NS_LIST, 4096).unwrap(),
    };
    assert_eq!(
        ad.apply(ctl, &changed, &NvmeResponse::good(&[0; 4096]), now),
        Ok(Applied::ChangedNamespaces)
    );
    let reset = NvmeCommand::ResetController {
        path: p1,
        cntlid: 1,
    };
    assert_eq!(
        ad.apply(ctl, &reset, &NvmeResponse::SUCCESS, now),
        Ok(Applied::Reset)
    );
    let report = ad.reservation_report(p1, 4096, false).unwrap();
    let wrong = AdapterError::WrongEntry {
        command: CommandKind::Reservation { opcode: 0x0E },
    };
    assert_eq!(
        ad.apply(ctl, &report, &NvmeResponse::SUCCESS, now),
        Err(wrong)
    );
    // A report built by hand carries no coordinator command.
    assert_eq!(ad.pr_reply(&report, &NvmeResponse::SUCCESS), Err(wrong));
    assert_eq!(
        ad.pr_reply(&reset, &NvmeResponse::SUCCESS),
        Err(AdapterError::WrongEntry {
            command: CommandKind::ResetController
        })
    );
}

/// A controller connected again (a new association): the adapter tells the
/// device RESET_OCCURRED, as a SCSI target's POWER ON, RESET would, so a
/// device holding a key checks its registration; a path it does not know
/// is refused, and nothing reaches the device then.
#[test]
fn a_reconnection_is_reported_as_a_reset() {
    let (mut mp, mut ad, p1, p2) = two_paths();
    let resets = |mp: &Mp, p| {
        mp.controller()
            .path_snapshot(p, &[])
            .unwrap()
            .counters
            .resets
    };
    assert_eq!(resets(&mp, p1), 0);
    ad.reconnected(mp.controller_mut(), p1, t(5)).unwrap();
    assert_eq!((resets(&mp, p1), resets(&mp, p2)), (1, 0));
    ad.remove_path(mp.controller_mut(), p2, t(6)).unwrap();
    assert_eq!(
        ad.reconnected(mp.controller_mut(), p2, t(7)),
        Err(AdapterError::UnknownPath(p2))
    );
    assert_eq!(resets(&mp, p1), 1);
}
