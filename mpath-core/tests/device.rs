//! The device: one door for the controller and the reservation
//! coordinator. Each fact goes in once and reaches both halves; actions and
//! events come out of one `poll_action` and one `poll_event`.

mod common;
use common::spc4::Target;
use common::{ms, secs};
use mpath_core::reservation::*;
use mpath_core::*;

const OURS: u64 = 0xA1;

type Dev = Device<DataPlane<8>, 8, 16, 4>;

fn nexus(p: PathId) -> u32 {
    100 + p.slot() as u32
}

/// A device and the target it talks to.
struct Rig {
    d: Dev,
    t: Target,
    paths: Vec<PathId>,
    events: Vec<DeviceEvent>,
}

impl Rig {
    fn new(n: u32) -> Rig {
        let mut d = Dev::new(DataPlane::new(), Config::DEFAULT, RegistrationScope::Nexus).unwrap();
        let paths = (0..n)
            .map(|i| {
                d.add_path(PathSpec::new(GroupId(1), NexusId(i)), i, ms(0))
                    .unwrap()
            })
            .collect();
        Rig {
            d,
            t: Target::default(),
            paths,
            events: Vec::new(),
        }
    }

    /// Carry out every action at `now`: reservation commands on the
    /// target, probes answered by whether the target reaches the path.
    fn run(&mut self, now: Instant) {
        for _ in 0..1000 {
            let Some(a) = self.d.poll_action() else { break };
            match a {
                Action::Reservation(pa) => {
                    // READ KEYS counts the key in use now.
                    let ours = self.d.coordinator().key().unwrap_or(OURS);
                    let reply = self.t.exec(nexus(pa.via), pa.command, ours);
                    self.d.handle_reservation_reply(pa.via, reply, now).unwrap();
                }
                Action::Probe(p) => {
                    let r = if self.t.down.contains(&nexus(p)) {
                        ProbeResult::Down
                    } else {
                        ProbeResult::Up
                    };
                    self.d.handle_probe(p, r, now).unwrap();
                }
                Action::Dispatch(t) => {
                    let c = if self.t.down.contains(&nexus(t.path())) {
                        Outcome::PathError(PathErrorKind::Transport)
                    } else {
                        Outcome::Success
                    };
                    let _ = self.d.handle_completion(t, c.into(), now).unwrap();
                }
                _ => {}
            }
        }
        while let Some(e) = self.d.poll_event() {
            self.events.push(e);
        }
    }

    fn op(&mut self, op: PrOp, now: Instant) -> Result<PrReport, PrError> {
        self.events.clear();
        self.d.reservation(op, now).unwrap();
        self.run(now);
        self.events
            .iter()
            .find_map(|e| match e {
                DeviceEvent::Reservation(PrEvent::Finished { op: o, result }) if *o == op => {
                    Some(*result)
                }
                _ => None,
            })
            .unwrap_or_else(|| panic!("{op:?} did not finish: {:?}", self.events))
    }
}

/// A path error on the nexus holding the reservation is found by the
/// controller; the device tells the coordinator, which moves the
/// reservation to a live nexus, and held writes go out only after it.
#[test]
fn a_path_error_on_the_holder_moves_the_reservation() {
    let mut r = Rig::new(3);
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive), ms(2)).unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    assert_eq!(r.t.resv.unwrap().0, nexus(holder));
    for &p in &r.paths {
        assert!(r.d.coordinator().admitted(p));
    }
    // Write on the holder's nexus; the holder's link dies under it.
    let mut cursor: Cursor<8> = Cursor::new(Locality(0));
    let ticket = loop {
        let t =
            r.d.data_plane()
                .submit(&mut cursor, Io::write(1, 4096, 3), ms(10))
                .unwrap();
        if t.path() == holder {
            break t;
        }
        r.d.data_plane().complete(&mut cursor, t, ms(10)).unwrap();
    };
    r.t.down.push(nexus(holder));
    let c = Outcome::PathError(PathErrorKind::Transport).into();
    assert_eq!(
        r.d.handle_completion(ticket, c, ms(20)).unwrap(),
        Disposition::Queued,
        "held: the reservation moves and the write quiesces"
    );
    r.run(ms(20));
    let new_holder = r.d.coordinator().holder().unwrap();
    assert_ne!(new_holder, holder);
    assert_eq!(r.t.resv.unwrap().0, nexus(new_holder));
    assert!(r.events.contains(&DeviceEvent::PathFailed(holder)));
    assert!(r.events.contains(&DeviceEvent::Reservation(PrEvent::Moved {
        holder: new_holder
    })));
    // After the quiesce time the write goes out on the new holder's nexus
    // (write exclusive: only the holder may write).
    let wake = r.d.poll_timeout().unwrap();
    r.d.handle_timeout(wake).unwrap();
    let mut sent = None;
    while let Some(a) = r.d.poll_action() {
        if let Action::Dispatch(t) = a {
            sent = Some(t);
        }
    }
    let t = sent.expect("the held write goes out");
    assert!(!r.t.write_conflicts(nexus(t.path())) || t.path() == new_holder);
    let _ =
        r.d.handle_completion(t, Outcome::Success.into(), wake)
            .unwrap();
}

/// A probe that times out takes the path down for the coordinator too:
/// when it comes back it is registered again before it is admitted.
#[test]
fn a_probe_timeout_reaches_the_coordinator() {
    const NEW_KEY: u64 = 0xC3C3;
    let mut r = Rig::new(2);
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r.op(PrOp::Unregister, ms(2)).unwrap();
    let p = r.paths[0];
    assert_eq!(r.d.coordinator().is_up(p), Some(true));
    // The probe goes out at 5 s and never comes back.
    r.d.handle_timeout(secs(5)).unwrap();
    let probes: Vec<_> = std::iter::from_fn(|| r.d.poll_action()).collect();
    assert!(probes.contains(&Action::Probe(p)), "{probes:?}");
    r.d.handle_timeout(secs(35)).unwrap();
    assert_eq!(r.d.coordinator().is_up(p), Some(false));
    assert_eq!(r.d.controller().tier(p).unwrap(), Tier::Ineligible);
    // A registration meanwhile (the key dropped while the paths were up)
    // reaches no path; a path is registered when it returns, before it is
    // admitted.
    r.d.handle_timeout(secs(36)).unwrap();
    r.t.down.push(nexus(p));
    assert_ne!(r.d.coordinator().state(p), Some(RegState::Registered));
    // Every path is down: nowhere registered now, the key kept for when
    // they return.
    assert_eq!(
        r.op(PrOp::Register(NEW_KEY), secs(36)),
        Err(PrError::NoPath)
    );
    assert_eq!(r.d.coordinator().key(), Some(NEW_KEY));
    assert_ne!(r.d.coordinator().state(p), Some(RegState::Registered));
    let sent_before = r.t.log.len();
    r.t.down.clear();
    r.d.handle_probe(p, ProbeResult::Up, secs(37)).unwrap();
    assert_eq!(r.d.coordinator().is_up(p), Some(true), "probe passed");
    assert!(
        !r.d.coordinator().admitted(p),
        "not before it is registered"
    );
    assert_eq!(r.d.controller().tier(p).unwrap(), Tier::Ineligible);
    r.run(secs(37));
    assert!(
        r.t.log[sent_before..].contains(&(nexus(p), PrCommand::Register { key: NEW_KEY })),
        "registered again: {:?}",
        r.t.log
    );
    assert!(r.d.coordinator().admitted(p));
    assert_eq!(r.d.controller().tier(p).unwrap(), Tier::Optimized);
}

/// Reservation notices that come with a completion reach the coordinator:
/// it reads the keys, finds our registrations gone, and fences the device.
#[test]
fn a_preemption_notice_in_a_completion_fences_the_device() {
    let mut r = Rig::new(2);
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r.events.clear();
    let t = match r.d.submit(Io::write(1, 4096, 3), ms(2)).unwrap() {
        Disposition::Dispatch(t) => t,
        other => panic!("{other:?}"),
    };
    // Another host preempts us; the write's status carries the notice.
    r.t.regs.retain(|reg| reg.1 != OURS);
    let c = Completion {
        outcome: Outcome::ReservationConflict,
        notices: Notices::REGISTRATIONS_PREEMPTED,
    };
    let _ = r.d.handle_completion(t, c, ms(3)).unwrap();
    r.run(ms(3));
    assert!(r.d.coordinator().is_fenced());
    assert!(r
        .events
        .contains(&DeviceEvent::Reservation(PrEvent::Fenced)));
    assert_eq!(r.d.data_plane().selectable(), 0, "nothing goes out");
    match r.d.submit(Io::write(2, 4096, 3), ms(4)).unwrap() {
        Disposition::Done { result, .. } => assert_eq!(result, Err(IoError::Fenced)),
        other => panic!("{other:?}"),
    }
}

/// Misuse is refused with a typed error and nothing changes: a reply for
/// a command never sent, on a stale path, or with time going backwards.
#[test]
fn misuse_is_refused_without_change() {
    let mut r = Rig::new(2);
    r.run(ms(0));
    let before = format!("{:?}", r.d);
    assert_eq!(
        r.d.handle_reservation_reply(r.paths[0], PrReply::Done, ms(1)),
        Err(Error::NotPending {
            what: "reservation command"
        })
    );
    let stale = PathId::from_raw(r.paths[1].to_raw() + 0x0001_0000);
    assert_eq!(
        r.d.handle_reservation_reply(stale, PrReply::Done, ms(1)),
        Err(Error::UnknownPath(stale))
    );
    assert_eq!(format!("{:?}", r.d), before);
    r.d.handle_timeout(ms(10)).unwrap();
    let snapshot = format!("{:?}", r.d);
    assert!(matches!(
        r.d.reservation(PrOp::Register(OURS), ms(5)),
        Err(DeviceError::Device(Error::Time(_)))
    ));
    assert!(matches!(
        r.d.nexus_replaced(r.paths[0], 7, ms(5)),
        Err(Error::Time(_))
    ));
    assert_eq!(format!("{:?}", r.d), snapshot);
    assert_eq!(r.d.poll_action(), None);
}

/// Path events come out of `poll_event`, computed from state: polled late,
/// every change is still reported once, and a path that failed and came
/// back before the poll is reported in its current state.
#[test]
fn path_events_are_reported_from_state() {
    let mut r = Rig::new(2);
    let (a, b) = (r.paths[0], r.paths[1]);
    let events: Vec<_> = std::iter::from_fn(|| r.d.poll_event()).collect();
    assert_eq!(
        events,
        [
            DeviceEvent::PathReinstated {
                path: a,
                tier: Tier::Optimized
            },
            DeviceEvent::PathReinstated {
                path: b,
                tier: Tier::Optimized
            },
            DeviceEvent::ActiveTier(Some(Tier::Optimized)),
        ]
    );
    assert_eq!(r.d.poll_event(), None);
    r.d.set_marginal(a, ms(1)).unwrap();
    r.d.fail_path(b, ms(2)).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| r.d.poll_event()).collect();
    assert_eq!(
        events,
        [
            DeviceEvent::PathMarginal(a),
            DeviceEvent::PathFailed(b),
            DeviceEvent::ActiveTier(Some(Tier::Marginal)),
        ]
    );
    // Failed and reinstated between polls: nothing to report for b.
    r.d.fail_path(a, ms(3)).unwrap();
    r.d.fail_path(b, ms(3)).unwrap();
    r.d.reinstate_path(b, ms(4)).unwrap();
    r.d.handle_probe(b, ProbeResult::Up, ms(4)).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| r.d.poll_event()).collect();
    assert_eq!(
        events,
        [
            DeviceEvent::PathFailed(a),
            DeviceEvent::PathReinstated {
                path: b,
                tier: Tier::Optimized
            },
            DeviceEvent::ActiveTier(Some(Tier::Optimized)),
        ]
    );
    r.d.fail_path(b, ms(5)).unwrap();
    let events: Vec<_> = std::iter::from_fn(|| r.d.poll_event()).collect();
    assert_eq!(
        events,
        [DeviceEvent::PathFailed(b), DeviceEvent::ActiveTier(None)]
    );
}

/// Flap damping the controller applies by itself reaches the coordinator:
/// a holder whose path keeps failing and returning is held out, and the
/// reservation moves to a steady path.
#[test]
fn a_damped_holder_loses_the_reservation_to_a_steady_path() {
    let mut cfg = Config::DEFAULT;
    cfg.flap = FlapConfig {
        threshold: 2,
        forget_interval: Duration::from_secs(100),
        recovery_time: Duration::from_secs(60),
    };
    let mut d = Dev::new(DataPlane::new(), cfg, RegistrationScope::Nexus).unwrap();
    let paths: Vec<PathId> = (0..2)
        .map(|i| {
            d.add_path(PathSpec::new(GroupId(1), NexusId(i)), i, ms(0))
                .unwrap()
        })
        .collect();
    let mut r = Rig {
        d,
        t: Target::default(),
        paths,
        events: Vec::new(),
    };
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive), ms(2)).unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    // The holder's path fails twice and comes back: damped on return.
    for s in [10, 20] {
        r.d.handle_probe(holder, ProbeResult::Down, secs(s))
            .unwrap();
        r.run(secs(s));
        r.d.handle_probe(holder, ProbeResult::Up, secs(s + 1))
            .unwrap();
    }
    r.run(secs(21));
    assert_eq!(
        r.d.controller().path_snapshot(holder, &[]).unwrap().health,
        Health::Damped
    );
    let now_holder = r.d.coordinator().holder().unwrap();
    assert_ne!(now_holder, holder, "moved when the path first failed");
    assert_eq!(r.t.resv.unwrap().0, nexus(now_holder));
    // Up for the checker, but held out: not up for the coordinator, which
    // sends it nothing until the recovery time has passed.
    assert_eq!(r.d.coordinator().is_up(holder), Some(false));
    let sent = r.t.log.len();
    r.d.handle_timeout(secs(50)).unwrap();
    r.run(secs(50));
    assert!(r.t.log[sent..].iter().all(|(n, _)| *n != nexus(holder)));
    r.d.handle_timeout(secs(82)).unwrap();
    r.run(secs(82));
    assert_eq!(r.d.coordinator().is_up(holder), Some(true), "recovered");
    assert!(
        r.d.coordinator().admitted(holder),
        "{:?} {:?} {:?}",
        r.d.coordinator().state(holder),
        &r.t.log[sent..],
        r.d.controller().path_snapshot(holder, &[]).unwrap()
    );
}

/// Every device command and input reaches the controller: each is checked
/// by its effect, read back through the getters.
#[test]
fn every_command_reaches_the_controller() {
    let mut cfg = Config::DEFAULT;
    cfg.failback = Failback::Manual;
    cfg.access.explicit_activation = true;
    let mut d = Dev::new(DataPlane::new(), cfg, RegistrationScope::Nexus).unwrap();
    let spec = |g, n| PathSpec::new(GroupId(g), NexusId(n));
    let a = d.add_path(spec(1, 1), 1, ms(0)).unwrap();
    let b = d.add_path(spec(2, 2), 2, ms(0)).unwrap();
    let c = d.add_path(spec(2, 3), 3, ms(0)).unwrap();
    assert_eq!(d.now(), ms(0));
    while d.poll_action().is_some() {}
    let snap = |d: &Dev, p| d.controller().path_snapshot(p, &[]).unwrap();

    d.handle_link(c, LinkEvent::Down, ms(1)).unwrap();
    assert_eq!(snap(&d, c).link, Link::Down);
    assert_eq!(d.now(), ms(1));
    d.remove_path(c, ms(2)).unwrap();
    assert_eq!(d.tier(c), Err(Error::StalePath(c)));

    d.handle_notices(a, Notices::ACCESS_STATE_CHANGED, ms(3))
        .unwrap();
    assert!(d.controller().refresh_pending(a).unwrap());
    let via = loop {
        match d.poll_action() {
            Some(Action::RefreshAccessState { via }) => break via,
            Some(_) => {}
            None => panic!("no re-read asked for"),
        }
    };
    let standby = GroupAccess::new(AccessState::Standby);
    d.handle_access_state(GroupId(2), standby, ms(4)).unwrap();
    assert_eq!(d.controller().group_access(GroupId(2)), Some(standby));
    d.handle_refresh_result(via, true, ms(4)).unwrap();
    assert!(!d.controller().refresh_pending(via).unwrap());

    d.set_transition_timeout(GroupId(2), Duration::from_secs(7))
        .unwrap();
    d.handle_access_state(
        GroupId(2),
        GroupAccess::new(AccessState::Transitioning),
        ms(5),
    )
    .unwrap();
    // The group's own timeout, not the 60 s default, bounds the transition.
    d.handle_timeout(ms(5).saturating_add(Duration::from_secs(7)))
        .unwrap();
    let timed_out = std::iter::from_fn(|| d.poll_action())
        .any(|act| act == Action::TransitionTimedOut { group: GroupId(2) });
    assert!(timed_out);
    let now = d.now();

    // Explicit activation of the standby group once `a` is gone.
    d.handle_access_state(GroupId(2), standby, now).unwrap();
    d.fail_path(a, now).unwrap();
    let group = loop {
        match d.poll_action() {
            Some(Action::ActivateGroup { group, .. }) => break group,
            Some(_) => {}
            None => panic!("no activation asked for"),
        }
    };
    d.handle_activation_result(group, ActivationResult::Failed, now)
        .unwrap();
    assert!(std::iter::from_fn(|| d.poll_action())
        .all(|act| !matches!(act, Action::ActivateGroup { .. })));
    d.handle_access_state(GroupId(2), GroupAccess::new(AccessState::Optimized), now)
        .unwrap();
    assert_eq!(d.tier(b).unwrap(), Tier::Optimized);

    d.set_marginal(b, now).unwrap();
    assert_eq!(d.tier(b).unwrap(), Tier::Marginal);
    d.clear_marginal(b, now).unwrap();
    assert_eq!(d.tier(b).unwrap(), Tier::Optimized);

    // Manual failback: `a` returns but selection stays on what it had.
    d.switch_group(Some(GroupId(2)), now).unwrap();
    d.reinstate_path(a, now).unwrap();
    d.handle_probe(a, ProbeResult::Up, now).unwrap();
    assert_eq!(d.data_plane().selectable(), 1 << b.slot(), "switched");
    d.switch_group(None, now).unwrap();
    d.fail_path(b, now).unwrap();
    d.reinstate_path(b, now).unwrap();
    d.handle_probe(b, ProbeResult::Up, now).unwrap();
    d.failback(now).unwrap();
    assert_eq!(
        d.data_plane().selectable(),
        (1 << a.slot()) | (1 << b.slot())
    );

    d.move_path_to_group(b, GroupId(1), None, now).unwrap();
    assert_eq!(snap(&d, b).group, GroupId(1));
    d.set_policy(Policy::QueueDepth, SelectorParams::DEFAULT, now)
        .unwrap();
    assert_eq!(d.data_plane().policy(), Policy::QueueDepth);
    d.set_no_path_policy(NoPathPolicy::Queue, now).unwrap();
    assert_eq!(d.controller().config().no_path, NoPathPolicy::Queue);

    // Each refuses what the controller refuses.
    let back = ms(0);
    assert!(matches!(d.remove_path(a, back), Err(Error::Time(_))));
    assert!(matches!(
        d.handle_link(a, LinkEvent::Up, back),
        Err(Error::Time(_))
    ));
    assert!(matches!(
        d.handle_notices(a, Notices::empty(), back),
        Err(Error::Time(_))
    ));
    assert!(matches!(
        d.handle_access_state(GroupId(1), standby, back),
        Err(Error::Time(_))
    ));
    assert_eq!(
        d.set_transition_timeout(GroupId(9), Duration::from_secs(1)),
        Err(Error::UnknownGroup(GroupId(9)))
    );
    assert!(d.handle_refresh_result(a, true, now).is_err());
    assert!(d
        .handle_activation_result(GroupId(1), ActivationResult::Done, now)
        .is_err());
    assert!(matches!(d.clear_marginal(a, back), Err(Error::Time(_))));
    assert_eq!(
        d.switch_group(Some(GroupId(9)), now),
        Err(Error::UnknownGroup(GroupId(9)))
    );
    assert!(matches!(d.failback(back), Err(Error::Time(_))));
    assert!(matches!(
        d.move_path_to_group(a, GroupId(1), None, back),
        Err(Error::Time(_))
    ));
    assert!(matches!(
        d.set_policy(Policy::RoundRobin, SelectorParams::DEFAULT, back),
        Err(Error::Time(_))
    ));
    assert!(matches!(
        d.set_no_path_policy(NoPathPolicy::Fail, back),
        Err(Error::Time(_))
    ));
}

/// A unit attention saying our registrations were preempted comes with a
/// completion whose outcome is "retry on the same path". The device hands
/// the notice to the coordinator before it routes the retry, and holds I/O
/// while the coordinator checks the keys: the retry is held, not sent
/// again behind another host's fence, and it ends `Fenced`.
#[test]
fn a_preemption_unit_attention_holds_the_retry_until_the_keys_are_checked() {
    let mut r = Rig::new(2);
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    let t = match r.d.submit(Io::write(1, 4096, 3), ms(2)).unwrap() {
        Disposition::Dispatch(t) => t,
        other => panic!("{other:?}"),
    };
    r.t.regs.retain(|reg| reg.1 != OURS);
    let ua = Completion {
        outcome: Outcome::Retry {
            reason: RetryReason::UnitAttention,
            delay: Duration::ZERO,
        },
        notices: Notices::REGISTRATIONS_PREEMPTED,
    };
    assert_eq!(
        r.d.handle_completion(t, ua, ms(3)).unwrap(),
        Disposition::Queued,
        "held while the keys are read"
    );
    assert!(r.d.coordinator().is_quiesced());
    assert_eq!(r.d.data_plane().selectable(), 0);
    let mut failed = None;
    while let Some(a) = r.d.poll_action() {
        match a {
            Action::Reservation(pa) => {
                assert_eq!(pa.command, PrCommand::ReadKeys);
                let reply = r.t.exec(nexus(pa.via), pa.command, OURS);
                r.d.handle_reservation_reply(pa.via, reply, ms(4)).unwrap();
            }
            Action::Fail { io, error } => failed = Some((io.tag, error)),
            Action::Dispatch(t) => panic!("sent again behind the fence: {t:?}"),
            _ => {}
        }
    }
    assert!(r.d.coordinator().is_fenced());
    assert_eq!(failed, Some((IoTag(1), IoError::Fenced)));
}

/// A reservation operation the coordinator refuses changes nothing: not
/// the clock, not the timers that were due.
#[test]
fn a_refused_reservation_operation_changes_nothing() {
    let mut r = Rig::new(2);
    r.run(ms(0));
    r.d.reservation(PrOp::Register(OURS), ms(1)).unwrap();
    let before = format!("{:?}", r.d);
    // Busy: the first operation has not finished. A probe was due at 5 s.
    assert_eq!(
        r.d.reservation(PrOp::ReadKeys, secs(10)),
        Err(DeviceError::Reservation(PrError::Busy))
    );
    assert_eq!(format!("{:?}", r.d), before);
    assert_eq!(r.d.now(), ms(1));
    assert!(matches!(
        r.d.reservation(PrOp::ReadKeys, ms(0)),
        Err(DeviceError::Device(Error::Time(_)))
    ));
    assert_eq!(format!("{:?}", r.d), before);
    assert_eq!(r.d.admitted(r.paths[0]), Ok(false), "registering");
    let stale = PathId::from_raw(r.paths[0].to_raw() + 0x0001_0000);
    assert_eq!(r.d.admitted(stale), Err(Error::UnknownPath(stale)));
}

/// A reservation move that waits for a path holds I/O only while some path
/// is up to carry it afterwards; with the holder down and the other path
/// failed by hand, the no-path policy applies (here: fail after 5 s).
#[test]
fn a_waiting_move_does_not_hold_io_past_the_no_path_policy() {
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::QueueFor(Duration::from_secs(5));
    let mut d = Dev::new(DataPlane::new(), cfg, RegistrationScope::Nexus).unwrap();
    let paths: Vec<PathId> = (0..2)
        .map(|i| {
            d.add_path(PathSpec::new(GroupId(1), NexusId(i)), i, ms(0))
                .unwrap()
        })
        .collect();
    let mut r = Rig {
        d,
        t: Target::default(),
        paths,
        events: Vec::new(),
    };
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly), ms(2))
        .unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    let other = *r.paths.iter().find(|&&p| p != holder).unwrap();
    r.d.fail_path(other, secs(1)).unwrap();
    r.d.handle_link(holder, LinkEvent::Down, secs(1)).unwrap();
    r.t.down.push(nexus(holder));
    assert!(r.d.coordinator().is_quiesced(), "the move waits for a path");
    assert_eq!(
        r.d.submit(Io::read(1, 512, 0), secs(2)).unwrap(),
        Disposition::Queued
    );
    let mut failed = None;
    let mut now = secs(2);
    while failed.is_none() && now < secs(30) {
        now = r.d.poll_timeout().unwrap_or(secs(30)).max(now);
        r.d.handle_timeout(now).unwrap();
        while let Some(a) = r.d.poll_action() {
            match a {
                Action::Fail { io, error } => failed = Some((io.tag, error, now)),
                Action::Probe(p) => r.d.handle_probe(p, ProbeResult::Down, now).unwrap(),
                Action::Reservation(pa) => {
                    let reply = r.t.exec(nexus(pa.via), pa.command, OURS);
                    r.d.handle_reservation_reply(pa.via, reply, now).unwrap();
                }
                _ => {}
            }
        }
    }
    let (tag, error, at) = failed.expect("the held read fails");
    assert_eq!((tag, error), (IoTag(1), IoError::NoPath));
    assert!(at <= secs(7), "by the 5 s bound, not later: {at:?}");
}

/// Send writes through the data plane until one goes out on `want`; the
/// others complete. Returns its ticket.
fn write_on(
    r: &mut Rig,
    cursor: &mut Cursor<8>,
    want: PathId,
    retries: u8,
    now: Instant,
) -> Ticket {
    for _ in 0..64 {
        let t =
            r.d.data_plane()
                .submit(cursor, Io::write(7, 4096, retries), now)
                .unwrap();
        if t.path() == want {
            return t;
        }
        r.d.data_plane().complete(cursor, t, now).unwrap();
    }
    panic!("no write went out on {want:?}");
}

/// Drain actions, answering reservation commands on the target and
/// returning the dispatches (not completed).
fn drain(r: &mut Rig, now: Instant) -> (Vec<Ticket>, Vec<PrCommand>) {
    let (mut sent, mut pr) = (Vec::new(), Vec::new());
    while let Some(a) = r.d.poll_action() {
        match a {
            Action::Reservation(pa) => {
                pr.push(pa.command);
                let reply = r.t.exec(nexus(pa.via), pa.command, OURS);
                r.t.settle();
                r.d.handle_reservation_reply(pa.via, reply, now).unwrap();
            }
            Action::Dispatch(t) => sent.push(t),
            _ => {}
        }
    }
    (sent, pr)
}

/// A write in flight on a nexus whose registration our own move's PREEMPT
/// removes meets RESERVATION CONFLICT. The device holds it and sends it
/// again once the nexuses are registered again, spending no retry (it has
/// none): a conflict we caused is never failed upward.
#[test]
fn a_conflict_our_own_move_caused_is_held_and_sent_again() {
    let mut r = Rig::new(3);
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly), ms(2))
        .unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    let mut cursor: Cursor<8> = Cursor::new(Locality(0));
    // Outstanding writes on both other nexuses: one carries the move's
    // PREEMPT, the other loses its registration to it.
    let others: Vec<PathId> = r.paths.iter().copied().filter(|&p| p != holder).collect();
    let flights: Vec<Ticket> = others
        .iter()
        .map(|&p| write_on(&mut r, &mut cursor, p, 0, ms(3)))
        .collect();
    // The holder dies: the reservation moves.
    r.t.down.push(nexus(holder));
    r.d.handle_link(holder, LinkEvent::Down, ms(4)).unwrap();
    let (_, pr) = drain(&mut r, ms(5));
    assert!(
        pr.iter()
            .any(|c| matches!(c, PrCommand::Preempt { victim: OURS, .. })),
        "{pr:?}"
    );
    let new_holder = r.d.coordinator().holder().unwrap();
    let victim = *others.iter().find(|&&p| p != new_holder).unwrap();
    // The write on the victim nexus was at the target across the PREEMPT.
    let (mut hit, rest): (Vec<Ticket>, Vec<Ticket>) =
        flights.into_iter().partition(|t| t.path() == victim);
    let t = hit.pop().unwrap();
    let d =
        r.d.handle_completion(t, Outcome::ReservationConflict.into(), ms(6))
            .unwrap();
    assert_eq!(d, Disposition::Queued, "held, not failed");
    let (sent, pr) = drain(&mut r, ms(6));
    assert_eq!(
        pr,
        vec![PrCommand::ReadKeys, PrCommand::ReadReservation],
        "the conflict is checked first: our keys, then the reservation"
    );
    assert!(!r.d.coordinator().is_fenced());
    let again = sent
        .iter()
        .find(|t| t.io().tag == IoTag(7))
        .expect("sent again");
    assert_eq!(again.io().retries, 0);
    assert!(!r.t.write_conflicts(nexus(again.path())));
    for t in rest.into_iter().chain(sent) {
        let _ =
            r.d.handle_completion(t, Outcome::Success.into(), ms(7))
                .unwrap();
    }
}

/// A conflict we did not cause spends a retry (after a check of the keys)
/// and, with none left, ends the I/O with RESERVATION CONFLICT.
#[test]
fn a_conflict_we_did_not_cause_spends_a_retry_then_fails() {
    let mut r = Rig::new(2);
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    let mut cursor: Cursor<8> = Cursor::new(Locality(0));
    let p = r.paths[0];
    let t = write_on(&mut r, &mut cursor, p, 1, ms(2));
    let d =
        r.d.handle_completion(t, Outcome::ReservationConflict.into(), ms(3))
            .unwrap();
    assert_eq!(d, Disposition::Queued);
    let (sent, pr) = drain(&mut r, ms(3));
    assert_eq!(pr, vec![PrCommand::ReadKeys, PrCommand::ReadReservation]);
    let again = sent.into_iter().find(|t| t.io().tag == IoTag(7)).unwrap();
    assert_eq!(again.io().retries, 0, "one retry spent");
    let d =
        r.d.handle_completion(again, Outcome::ReservationConflict.into(), ms(4))
            .unwrap();
    assert!(
        matches!(
            d,
            Disposition::Done {
                result: Err(IoError::ReservationConflict),
                ..
            }
        ),
        "{d:?}"
    );
    // Without a key a conflict is the target's answer, not ours to check.
    let mut r = Rig::new(1);
    r.run(ms(0));
    let only = r.paths[0];
    let t = write_on(&mut r, &mut cursor, only, 3, ms(1));
    let d =
        r.d.handle_completion(t, Outcome::ReservationConflict.into(), ms(2))
            .unwrap();
    assert!(matches!(
        d,
        Disposition::Done {
            result: Err(IoError::ReservationConflict),
            ..
        }
    ));
    assert_eq!(r.d.poll_action(), None, "nothing to check");
}

/// A device with one path per group (groups 1..=n), all optimized, our
/// key registered.
fn grouped(n: u32) -> Rig {
    let mut d = Dev::new(DataPlane::new(), Config::DEFAULT, RegistrationScope::Nexus).unwrap();
    let paths = (0..n)
        .map(|i| {
            let g = GroupId(i + 1);
            d.handle_access_state(g, GroupAccess::new(AccessState::Optimized), ms(0))
                .unwrap();
            d.add_path(PathSpec::new(g, NexusId(i)), i, ms(0)).unwrap()
        })
        .collect();
    let mut r = Rig {
        d,
        t: Target::default(),
        paths,
        events: Vec::new(),
    };
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r
}

/// Under Write Exclusive a holder whose port group goes standby can carry
/// no write: the reservation moves to a registered nexus that can, and
/// writes go there. Under a registrants-only type every registered nexus
/// writes, so nothing moves; nor does it without another usable nexus.
#[test]
fn a_holder_that_cannot_carry_io_is_moved() {
    let mut r = grouped(2);
    r.op(PrOp::Reserve(PrType::WriteExclusive), ms(2)).unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    let other = *r.paths.iter().find(|&&p| p != holder).unwrap();
    let w = |r: &Rig| r.d.data_plane().writable();
    assert_eq!(w(&r), 1 << holder.slot());
    let g = GroupId(holder.slot() as u32 + 1);
    r.events.clear();
    r.d.handle_access_state(g, GroupAccess::new(AccessState::Standby), ms(3))
        .unwrap();
    r.run(ms(3));
    assert_eq!(r.d.coordinator().holder(), Some(other));
    assert_eq!(r.t.resv.unwrap().0, nexus(other));
    assert!(r
        .events
        .contains(&DeviceEvent::Reservation(PrEvent::Moved { holder: other })));
    assert_eq!(w(&r), 1 << other.slot());
    // Back to optimized: the holder stays where it is (no move back).
    r.d.handle_access_state(g, GroupAccess::new(AccessState::Optimized), ms(4))
        .unwrap();
    r.run(ms(4));
    assert_eq!(r.d.coordinator().holder(), Some(other));

    // Registrants only: every registered nexus writes; nothing moves.
    let mut r = grouped(2);
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly), ms(2))
        .unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    let g = GroupId(holder.slot() as u32 + 1);
    r.d.handle_access_state(g, GroupAccess::new(AccessState::Standby), ms(3))
        .unwrap();
    r.run(ms(3));
    assert_eq!(r.d.coordinator().holder(), Some(holder));
    assert_eq!(r.t.resv.unwrap().0, nexus(holder));

    // No other usable nexus: the holder stays, writes wait for it.
    let mut r = grouped(2);
    r.op(PrOp::Reserve(PrType::ExclusiveAccess), ms(2)).unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    let mut order: Vec<PathId> = r.paths.clone();
    order.sort_by_key(|&p| p == holder);
    for &p in &order {
        let g = GroupId(p.slot() as u32 + 1);
        r.d.handle_access_state(g, GroupAccess::new(AccessState::Standby), ms(3))
            .unwrap();
    }
    r.run(ms(3));
    assert_eq!(r.d.coordinator().holder(), Some(holder));
    assert_eq!(r.t.resv.unwrap().0, nexus(holder));
    assert_eq!(
        r.t.log
            .iter()
            .filter(|(_, c)| matches!(c, PrCommand::Preempt { .. }))
            .count(),
        0
    );
}

/// While a reservation moves, I/O is held and no tier is active.
#[test]
fn a_move_has_no_active_tier() {
    let mut r = Rig::new(3);
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive), ms(2)).unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    r.t.down.push(nexus(holder));
    r.d.handle_link(holder, LinkEvent::Down, ms(3)).unwrap();
    assert!(r.d.coordinator().is_quiesced());
    assert_eq!(r.d.controller().active_tier(), None);
    r.run(ms(3));
    assert!(r.d.controller().active_tier().is_some());
}

/// A RESERVATION CONFLICT, or a preemption notice, on an I/O whose path was
/// removed while it was out says nothing about our registrations through
/// the paths we have: no key check starts, nothing is held for one.
#[test]
fn a_conflict_on_a_removed_path_starts_no_key_check() {
    for notice_only in [false, true] {
        let mut r = Rig::new(2);
        r.run(ms(0));
        r.op(PrOp::Register(OURS), ms(1)).unwrap();
        let mut cursor: Cursor<8> = Cursor::new(Locality(0));
        let gone = r.paths[0];
        let t = write_on(&mut r, &mut cursor, gone, 1, ms(2));
        r.d.remove_path(gone, ms(3)).unwrap();
        while r.d.poll_action().is_some() {}
        let completion = if notice_only {
            let mut c: Completion = Outcome::Success.into();
            c.notices = Notices::REGISTRATIONS_PREEMPTED;
            c
        } else {
            Outcome::ReservationConflict.into()
        };
        let _ = r.d.handle_completion(t, completion, ms(4));
        let (_, pr) = drain(&mut r, ms(4));
        assert!(
            !pr.contains(&PrCommand::ReadKeys),
            "notice only {notice_only}: {pr:?}"
        );
        assert!(!r.d.coordinator().is_quiesced());
        assert!(!r.d.coordinator().is_fenced());
    }
}

/// REGISTER AND MOVE through the device (rule 12): refusals change
/// nothing; the command goes out on the holder's path as an
/// `Action::Reservation` with the TransportID kept beside it; once GOOD,
/// the reservation is the other host's, ours are still registered, and
/// writes are no longer narrowed to a holder of ours (the other host's
/// reservation is the target's to enforce: a conflict there is a question
/// for the coordinator, rule 2).
#[test]
fn register_and_move_through_the_device() {
    let mut r = Rig::new(3);
    r.run(ms(0));
    r.op(PrOp::Register(OURS), ms(1)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive), ms(2)).unwrap();
    let holder = r.d.coordinator().holder().unwrap();
    let all = r.paths.iter().fold(0u64, |m, p| m | 1 << p.slot());
    assert_eq!(r.d.data_plane().writable(), 1 << holder.slot());
    assert_eq!(r.d.data_plane().selectable(), all);
    let before = format!("{:?}", r.d);
    assert_eq!(
        r.d.reservation_move_to(&[], 1, 0xB2, ms(3)),
        Err(DeviceError::Reservation(PrError::BadTransportId))
    );
    assert_eq!(
        r.d.reservation_move_to(b"tid", 1, 0, ms(3)),
        Err(DeviceError::Reservation(PrError::ZeroKey))
    );
    assert!(matches!(
        r.d.reservation_move_to(b"tid", 1, 0xB2, ms(1)),
        Err(DeviceError::Device(Error::Time(_)))
    ));
    assert_eq!(
        r.d.reservation(
            PrOp::RegisterAndMove {
                dest_key: 0xB2,
                relative_target_port: 1
            },
            ms(3)
        ),
        Err(DeviceError::Reservation(PrError::BadTransportId))
    );
    assert_eq!(format!("{:?}", r.d), before);
    r.t.move_dest = Some(900);
    r.events.clear();
    r.d.reservation_move_to(b"tid", 4, 0xB2, ms(3)).unwrap();
    assert_eq!(r.d.now(), ms(3));
    assert_eq!(r.d.coordinator().move_destination(), Some((&b"tid"[..], 4)));
    let Some(Action::Reservation(a)) = r.d.poll_action() else {
        panic!("no reservation command")
    };
    assert_eq!(
        (a.via, a.command),
        (
            holder,
            PrCommand::RegisterAndMove {
                key: OURS,
                dest_key: 0xB2,
                rtype: PrType::WriteExclusive,
                relative_target_port: 4
            }
        )
    );
    let reply = r.t.exec(nexus(a.via), a.command, OURS);
    r.d.handle_reservation_reply(a.via, reply, ms(4)).unwrap();
    r.run(ms(4));
    let finished = r.events.iter().find_map(|e| match e {
        DeviceEvent::Reservation(PrEvent::Finished {
            op: PrOp::RegisterAndMove { .. },
            result,
        }) => Some(*result),
        _ => None,
    });
    assert_eq!(
        finished.map(|x| x.map(|rep| rep.reservation)),
        Some(Ok(None))
    );
    assert_eq!(r.t.resv, Some((900, 0xB2, PrType::WriteExclusive)));
    assert_eq!(r.d.coordinator().reservation(), None);
    assert_eq!(r.d.coordinator().move_destination(), None);
    assert_eq!(r.d.data_plane().writable(), all);
    for &p in &r.paths {
        assert_eq!(r.t.key_of(nexus(p)), Some(OURS));
        assert_eq!(r.d.admitted(p), Ok(true));
    }
}

/// A write out on a path that fails, with no other path and
/// `no_path_retry fail`, is not failed upward before that path's quiesce
/// time: until then it may still land, and an application told it failed
/// would write the block again, only to have the old write land over it
/// (found by the simulator's sweep: a write stranded on a dead NVMe link
/// landed over the block's next write). A read fails at once.
#[test]
fn a_write_on_a_failed_path_fails_upward_only_after_its_quiesce_time() {
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Fail;
    cfg.quiesce_time = Duration::from_millis(100);
    let mut d = Dev::new(DataPlane::new(), cfg, RegistrationScope::Nexus).unwrap();
    let p = d
        .add_path(PathSpec::new(GroupId(1), NexusId(0)), 0, ms(0))
        .unwrap();
    while d.poll_action().is_some() {}
    let mut cursor: Cursor<8> = Cursor::new(Locality(0));
    let w = d
        .data_plane()
        .submit(&mut cursor, Io::write(1, 4096, 2), ms(1))
        .unwrap();
    let r = d
        .data_plane()
        .submit(&mut cursor, Io::read(2, 4096, 2), ms(1))
        .unwrap();
    assert_eq!((w.path(), r.path()), (p, p));
    let lost = Outcome::PathError(PathErrorKind::Transport);
    assert_eq!(
        d.handle_completion(w, lost.into(), ms(2)).unwrap(),
        Disposition::Queued
    );
    let read = d.handle_completion(r, lost.into(), ms(2)).unwrap();
    let mut failed = Vec::new();
    if let Disposition::Done { io, result } = read {
        failed.push((io.tag, result, ms(2)));
    }
    while let Some(a) = d.poll_action() {
        if let Action::Fail { io, error } = a {
            failed.push((io.tag, Err(error), ms(2)));
        }
    }
    assert_eq!(
        failed,
        vec![(IoTag(2), Err(IoError::NoPath), ms(2))],
        "the read fails at once, the write waits"
    );
    let wake = d.poll_timeout().expect("woken for the write");
    assert!(wake <= ms(102) && wake > ms(2), "{wake:?}");
    d.handle_timeout(ms(50)).unwrap();
    assert!(!std::iter::from_fn(|| d.poll_action()).any(|a| matches!(a, Action::Fail { .. })));
    d.handle_timeout(ms(102)).unwrap();
    let fails: Vec<Action> = std::iter::from_fn(|| d.poll_action())
        .filter(|a| matches!(a, Action::Fail { .. }))
        .collect();
    assert_eq!(
        fails,
        vec![Action::Fail {
            io: Io::write(1, 4096, 2),
            error: IoError::NoPath
        }]
    );
}

/// A device built in caller memory is the device `new` returns: it takes
/// paths and dispatches I/O, with the data plane's credits and policy
/// published; a configuration `new` refuses, `new_in` refuses too.
#[test]
fn a_device_built_in_place_works_like_one_returned() {
    let mut dp_slot = core::mem::MaybeUninit::<DataPlane<8>>::uninit();
    let dp: &DataPlane<8> = DataPlane::new_in_wrapped(&mut dp_slot, |d| d, |d| d, DeviceId(77));
    assert_eq!(dp.device_id(), DeviceId(77));
    assert_eq!(dp.selectable(), 0);
    let mut slot = core::mem::MaybeUninit::<Device<&DataPlane<8>, 8, 16, 4>>::uninit();
    let mut bad = Config::DEFAULT;
    bad.no_path = NoPathPolicy::QueueFor(Duration::ZERO);
    assert!(Device::new_in(&mut slot, dp, bad, RegistrationScope::Nexus).is_err());
    let mut cfg = Config::DEFAULT;
    cfg.policy = Policy::QueueDepth;
    let d = Device::new_in(&mut slot, dp, cfg, RegistrationScope::Nexus).unwrap();
    assert_eq!(dp.policy(), Policy::QueueDepth);
    let a = d
        .add_path(PathSpec::new(GroupId(1), NexusId(1)), 1, ms(0))
        .unwrap();
    while d.poll_action().is_some() {}
    // All 16 held-I/O credits are there: 16 I/Os start, the 17th is Busy.
    let mut started = 0;
    for tag in 0..17 {
        match d.submit(Io::read(tag, 512, 0), ms(1)).unwrap() {
            Disposition::Dispatch(t) => {
                assert_eq!(t.path(), a);
                assert_eq!(t.device(), DeviceId(77));
                started += 1;
            }
            Disposition::Busy(_) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(started, 16);
}

/// The device passes a path's service-time weight on: at weight 0 a path
/// is a standby while another is selectable; past 100 it is refused.
#[test]
fn the_device_sets_relative_throughput() {
    let mut cfg = Config::DEFAULT;
    cfg.policy = Policy::ServiceTime;
    let mut d = Dev::new(DataPlane::new(), cfg, RegistrationScope::Nexus).unwrap();
    let a = d
        .add_path(PathSpec::new(GroupId(1), NexusId(1)), 1, ms(0))
        .unwrap();
    let b = d
        .add_path(PathSpec::new(GroupId(1), NexusId(2)), 2, ms(0))
        .unwrap();
    while d.poll_action().is_some() {}
    assert!(d.set_relative_throughput(a, 101, ms(1)).is_err());
    d.set_relative_throughput(b, 0, ms(1)).unwrap();
    for tag in 0..4 {
        match d.submit(Io::read(tag, 4096, 0), ms(2)).unwrap() {
            Disposition::Dispatch(t) => assert_eq!(t.path(), a),
            other => panic!("{other:?}"),
        }
    }
}

/// A reservation command that fails because its path's group went
/// unavailable (SPC-4 5.15.2.4.5: no PERSISTENT RESERVE there; NVMe's
/// inaccessible likewise) is not sent through that path again while the
/// group stays so: the failure takes the path down, the probe finds it
/// up, and without the access state in the coordinator's view the command
/// went out again at the same instant, without end. It goes out once the
/// group serves reservation commands again (standby does).
#[test]
fn no_reservation_command_through_a_group_that_cannot_serve_it() {
    let mut d = Dev::new(DataPlane::new(), Config::DEFAULT, RegistrationScope::Nexus).unwrap();
    let unavailable = GroupAccess::new(AccessState::Unavailable);
    let p = d
        .add_path(
            PathSpec::new(GroupId(1), NexusId(1))
                .with_access(GroupAccess::new(AccessState::Optimized)),
            1,
            ms(0),
        )
        .unwrap();
    while d.poll_action().is_some() {}
    d.reservation(PrOp::Register(OURS), ms(1)).unwrap();
    let Some(Action::Reservation(first)) = d.poll_action() else {
        panic!("no REGISTER")
    };
    assert_eq!(first.via, p);
    d.handle_access_state(GroupId(1), unavailable, ms(2))
        .unwrap();
    d.handle_reservation_reply(p, PrReply::PathFailed, ms(2))
        .unwrap();
    // Answer everything at this instant as the fabric would: the link is
    // up, the group unavailable. The device must go quiet.
    let mut sent = 0;
    let mut quiet = false;
    for _ in 0..100 {
        match d.poll_action() {
            None => {
                quiet = true;
                break;
            }
            Some(Action::Probe(q)) => d.handle_probe(q, ProbeResult::Up, ms(2)).unwrap(),
            Some(Action::RefreshAccessState { via, .. }) => {
                d.handle_access_state(GroupId(1), unavailable, ms(2))
                    .unwrap();
                d.handle_refresh_result(via, true, ms(2)).unwrap();
            }
            Some(Action::Reservation(pa)) => {
                sent += 1;
                d.handle_reservation_reply(pa.via, PrReply::PathFailed, ms(2))
                    .unwrap();
            }
            Some(_) => {}
        }
    }
    assert!(quiet, "the device kept asking at one instant");
    assert_eq!(
        sent, 0,
        "a reservation command went to an unavailable group"
    );
    assert_eq!(d.coordinator().is_up(p), Some(false));
    // Standby serves PERSISTENT RESERVE: the registration goes out.
    d.handle_access_state(GroupId(1), GroupAccess::new(AccessState::Standby), ms(3))
        .unwrap();
    let mut registered = false;
    for _ in 0..20 {
        match d.poll_action() {
            None => break,
            Some(Action::Reservation(pa)) => {
                assert_eq!(pa.via, p);
                registered = true;
                break;
            }
            Some(Action::Probe(q)) => d.handle_probe(q, ProbeResult::Up, ms(3)).unwrap(),
            Some(_) => {}
        }
    }
    assert!(
        registered,
        "no reservation command once the group serves them"
    );
}
