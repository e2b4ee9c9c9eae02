//! I/O lifecycle: failover, retries, quiesce, no-path policy, requeue bounds.

mod common;
use common::*;
use mpath_core::*;

#[test]
fn read_fails_over_at_once_without_spending_retries() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, ms(0));
    let t = dispatched(submit(&mut d, Io::read(7, 4096, 2), ms(1)));
    let failed_on = t.path();
    let other = if failed_on == a { b } else { a };
    let r = dispatched(d.complete(t, path_err(), ms(2)).unwrap());
    assert_eq!(r.path(), other);
    assert_eq!(r.io().retries, 2, "path errors spend no retries");
    assert_eq!(d.controller().tier(failed_on).unwrap(), Tier::Ineligible);
    let snap = d.controller().path_snapshot(failed_on, &[]).unwrap();
    assert_eq!(snap.link, Link::Down);
    assert_eq!(snap.counters.failovers, 1);
    // The failed path is probed at once.
    assert!(drain(&mut d).contains(&Action::Probe(failed_on)));
    assert_eq!(d.complete_ok(r, ms(3)).unwrap().tag, IoTag(7));
}

#[test]
fn write_waits_for_the_failed_paths_quiesce_time() {
    let mut cfg = Config::DEFAULT;
    cfg.quiesce_time = Duration::from_millis(50);
    let mut d = dev(cfg);
    add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    add(&mut d, 1, 2, AccessState::Optimized, ms(0));
    let t = dispatched(submit(&mut d, Io::write(9, 4096, 0), ms(10)));
    let first = t.path();
    assert_eq!(
        d.complete(t, path_err(), ms(20)).unwrap(),
        Disposition::Queued
    );
    assert_eq!(d.controller().queued(), 1);
    // Nothing goes out before 20 + 50 ms, and the timer says when.
    assert!(drain(&mut d)
        .iter()
        .all(|a| !matches!(a, Action::Dispatch(_))));
    assert_eq!(d.controller().poll_timeout(), Some(ms(70)));
    d.controller_mut().handle_timeout(ms(69)).unwrap();
    assert!(drain(&mut d)
        .iter()
        .all(|a| !matches!(a, Action::Dispatch(_))));
    d.controller_mut().handle_timeout(ms(70)).unwrap();
    let acts = drain(&mut d);
    let t = acts
        .into_iter()
        .find_map(|a| match a {
            Action::Dispatch(t) => Some(t),
            _ => None,
        })
        .expect("dispatched after quiesce");
    assert_ne!(t.path(), first);
    assert_eq!(t.io().tag, IoTag(9));
    d.complete_ok(t, ms(71)).unwrap();
}

#[test]
fn retry_spends_budget_then_ends() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let busy: Completion = Outcome::Retry {
        reason: RetryReason::Busy,
        delay: Duration::ZERO,
    }
    .into();
    let t = dispatched(submit(&mut d, Io::read(1, 512, 1), ms(1)));
    let t = dispatched(d.complete(t, busy, ms(2)).unwrap());
    assert_eq!(t.path(), a, "retried on the same path");
    assert_eq!(t.io().retries, 0);
    match d.complete(t, busy, ms(3)).unwrap() {
        Disposition::Done { io, result } => {
            assert_eq!(io.tag, IoTag(1));
            assert_eq!(result, Err(IoError::RetriesExhausted));
        }
        other => panic!("{other:?}"),
    }
    // A delayed retry (NVMe CRD) is held until the delay passed.
    let t = dispatched(submit(&mut d, Io::read(2, 512, 1), ms(4)));
    let crd: Completion = Outcome::Retry {
        reason: RetryReason::Transient,
        delay: Duration::from_millis(100),
    }
    .into();
    assert_eq!(d.complete(t, crd, ms(5)).unwrap(), Disposition::Queued);
    assert_eq!(d.controller().poll_timeout(), Some(ms(105)));
    d.controller_mut().handle_timeout(ms(105)).unwrap();
    assert!(drain(&mut d)
        .iter()
        .any(|x| matches!(x, Action::Dispatch(t) if t.path() == a)));
}

#[test]
fn conflicts_and_target_errors_go_back_and_never_fail_the_path() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let cases = [
        (Outcome::ReservationConflict, IoError::ReservationConflict),
        (
            Outcome::TargetError(TargetError::Medium),
            IoError::Target(TargetError::Medium),
        ),
        (
            Outcome::TargetError(TargetError::IllegalRequest),
            IoError::Target(TargetError::IllegalRequest),
        ),
    ];
    for (i, (outcome, want)) in cases.into_iter().enumerate() {
        let now = ms(1 + 2 * i as u64);
        let t = dispatched(submit(&mut d, Io::write(i as u64, 512, 3), now));
        match d.complete(t, outcome.into(), now).unwrap() {
            Disposition::Done { result, .. } => assert_eq!(result, Err(want)),
            other => panic!("{other:?}"),
        }
        assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized);
    }
    let s = d.controller().path_snapshot(a, &[]).unwrap();
    assert_eq!(s.counters.conflicts, 1);
    assert_eq!(s.counters.target_errors, 2);
    assert_eq!(s.counters.path_errors, 0);
}

#[test]
fn no_path_policies() {
    // Fail: at once.
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Fail;
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    d.controller_mut().fail_path(a, ms(1)).unwrap();
    assert_eq!(
        submit(&mut d, Io::read(1, 512, 0), ms(2)),
        Disposition::Done {
            io: Io::read(1, 512, 0),
            result: Err(IoError::NoPath)
        }
    );

    // Queue: held, dispatched when a path returns.
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Queue;
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    d.controller_mut().fail_path(a, ms(1)).unwrap();
    assert_eq!(
        submit(&mut d, Io::read(1, 512, 0), ms(2)),
        Disposition::Queued
    );
    d.controller_mut().handle_timeout(secs(3600)).unwrap();
    assert_eq!(d.controller().queued(), 1);
    d.controller_mut().reinstate_path(a, secs(3600)).unwrap();
    let acts = drain(&mut d);
    assert!(acts
        .iter()
        .any(|x| matches!(x, Action::Dispatch(t) if t.path() == a)));

    // QueueFor: held for the bound after the last path went, then failed,
    // and what comes after fails at once.
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::QueueFor(Duration::from_secs(10));
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    assert_eq!(d.controller().no_path_since(), None);
    d.controller_mut().fail_path(a, secs(1)).unwrap();
    // The clock queue-for counts from.
    assert_eq!(d.controller().no_path_since(), Some(secs(1)));
    assert_eq!(
        submit(&mut d, Io::read(1, 512, 0), secs(5)),
        Disposition::Queued
    );
    assert_eq!(
        d.controller().poll_timeout().map(|t| t <= secs(11)),
        Some(true)
    );
    d.controller_mut().handle_timeout(secs(11)).unwrap();
    let acts = drain(&mut d);
    assert!(acts.contains(&Action::Fail {
        io: Io::read(1, 512, 0),
        error: IoError::NoPath
    }));
    assert!(matches!(
        submit(&mut d, Io::read(2, 512, 0), secs(12)),
        Disposition::Done {
            result: Err(IoError::NoPath),
            ..
        }
    ));
    // Switching to fail_if_no_path by hand takes effect on held I/O too.
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Queue;
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    d.controller_mut().fail_path(a, ms(1)).unwrap();
    assert_eq!(
        submit(&mut d, Io::read(1, 512, 0), ms(2)),
        Disposition::Queued
    );
    d.controller_mut()
        .set_no_path_policy(NoPathPolicy::Fail, ms(3))
        .unwrap();
    assert!(drain(&mut d).contains(&Action::Fail {
        io: Io::read(1, 512, 0),
        error: IoError::NoPath
    }));
}

#[test]
fn fail_policy_still_waits_for_a_transition() {
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Fail;
    let mut d = dev(cfg);
    add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    d.controller_mut()
        .handle_access_state(
            GroupId(1),
            GroupAccess::new(AccessState::Transitioning),
            ms(1),
        )
        .unwrap();
    assert_eq!(
        submit(&mut d, Io::read(1, 512, 0), ms(2)),
        Disposition::Queued
    );
    d.controller_mut()
        .handle_access_state(
            GroupId(1),
            GroupAccess::new(AccessState::Optimized),
            ms(500),
        )
        .unwrap();
    assert!(drain(&mut d)
        .iter()
        .any(|a| matches!(a, Action::Dispatch(_))));
}

#[test]
fn full_requeue_hands_the_io_back() {
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Queue;
    let mut d: Multipath<2, 2, 2> = Multipath::new(cfg).unwrap();
    let a = d
        .controller_mut()
        .add_path(PathSpec::new(GroupId(1), NexusId(1)), ms(0))
        .unwrap();
    d.controller_mut().fail_path(a, ms(1)).unwrap();
    assert_eq!(
        d.submit(Io::read(1, 512, 0), ms(2)).unwrap(),
        Disposition::Queued
    );
    assert_eq!(
        d.submit(Io::read(2, 512, 0), ms(2)).unwrap(),
        Disposition::Queued
    );
    assert_eq!(
        d.submit(Io::read(3, 512, 0), ms(2)).unwrap(),
        Disposition::Busy(Io::read(3, 512, 0))
    );
    assert_eq!(d.controller().device_snapshot().counters.busy, 1);
    // Cancel one; an unknown tag is a typed error.
    assert_eq!(
        d.controller_mut().cancel(IoTag(1), ms(3)),
        Ok(Io::read(1, 512, 0))
    );
    assert_eq!(
        d.controller_mut().cancel(IoTag(1), ms(3)),
        Err(Error::UnknownIo(IoTag(1)))
    );
    assert_eq!(d.controller().queued(), 1);
}

#[test]
fn head_lifecycle_and_delayed_removal() {
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Queue;
    cfg.delayed_removal = Duration::from_secs(10);
    let mut d = dev(cfg);
    assert_eq!(d.controller().head_state(), HeadState::Waiting);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    assert_eq!(d.controller().head_state(), HeadState::Live);
    assert_eq!(drain(&mut d), vec![Action::HeadLive]);
    d.controller_mut().remove_path(a, secs(1)).unwrap();
    assert_eq!(
        d.controller().head_state(),
        HeadState::Orphaned {
            remove_at: secs(11)
        }
    );
    assert_eq!(
        submit(&mut d, Io::write(5, 512, 0), secs(2)),
        Disposition::Queued
    );
    // A path returning in time keeps the head and drains the queue.
    let b = add(&mut d, 1, 2, AccessState::Optimized, secs(3));
    assert_eq!(d.controller().head_state(), HeadState::Live);
    let acts = drain(&mut d);
    assert!(acts
        .iter()
        .any(|a| matches!(a, Action::Dispatch(t) if t.path() == b)));
    for a in acts {
        if let Action::Dispatch(t) = a {
            d.complete_ok(t, secs(3)).unwrap();
        }
    }
    // Last path gone for good: queued I/O fails, then the head goes.
    d.controller_mut().remove_path(b, secs(4)).unwrap();
    assert_eq!(
        submit(&mut d, Io::read(6, 512, 0), secs(5)),
        Disposition::Queued
    );
    assert_eq!(d.controller().poll_timeout(), Some(secs(14)));
    d.controller_mut().handle_timeout(secs(14)).unwrap();
    assert_eq!(
        drain(&mut d),
        vec![
            Action::Fail {
                io: Io::read(6, 512, 0),
                error: IoError::HeadRemoved
            },
            Action::HeadRemoved
        ]
    );
    assert_eq!(d.controller().head_state(), HeadState::Removed);
    assert!(matches!(
        submit(&mut d, Io::read(7, 512, 0), secs(15)),
        Disposition::Done {
            result: Err(IoError::HeadRemoved),
            ..
        }
    ));
    assert_eq!(
        d.controller_mut()
            .add_path(PathSpec::new(GroupId(1), NexusId(3)), secs(16))
            .map_err(|r| r.error),
        Err(Error::HeadRemoved)
    );
}

#[test]
fn policy_switch_mid_flight_keeps_counters_balanced() {
    let mut cfg = Config::DEFAULT;
    cfg.policy = Policy::QueueDepth;
    let dp: DataPlane<4> = DataPlane::new();
    let mut ctl: Controller<&DataPlane<4>, 4> = Controller::new(&dp, cfg).unwrap();
    let a = ctl
        .add_path(PathSpec::new(GroupId(1), NexusId(1)), ms(0))
        .unwrap();
    let mut c: Cursor<4> = Cursor::new(Locality(0));
    let t1 = dp.submit(&mut c, Io::read(1, 4096, 0), ms(1)).unwrap();
    assert_eq!(dp.load_seen_by(&c, a.slot()), (1, 0));
    ctl.set_policy(Policy::ServiceTime, SelectorParams::DEFAULT, ms(2))
        .unwrap();
    let t2 = dp.submit(&mut c, Io::read(2, 4096, 0), ms(3)).unwrap();
    assert_eq!(dp.load_seen_by(&c, a.slot()), (1, 4096));
    let s = ctl.path_snapshot(a, &[&c]).unwrap();
    assert_eq!((s.inflight, s.inflight_bytes), (1, 4096));
    dp.complete(&mut c, t1, ms(4)).unwrap();
    dp.complete(&mut c, t2, ms(5)).unwrap();
    assert_eq!(dp.load_seen_by(&c, a.slot()), (0, 0));
    dp.park(&mut c);
    assert_eq!(dp.published_load(a.slot()), (0, 0));
    let s = ctl.path_snapshot(a, &[&c]).unwrap();
    assert_eq!((s.started, s.completed, s.bytes), (2, 2, 8192));
}

/// Back-pressure happens at submit, before dispatch, never at failover.
/// Requeue depth 4 bounds the I/O started and held together: eight writes
/// are submitted at once and four come back `Busy` unstarted. The caller
/// submits those again every millisecond. The writes on path A fail at
/// 10 ms: each failed completion finds room in the requeue, and none goes
/// out on another path before A's quiesce time (110 ms), whatever the
/// caller does meanwhile. Every write ends exactly once.
#[test]
fn back_pressure_is_at_submit_and_never_lets_a_write_overtake_the_quiesce_time() {
    let mut d: Multipath<4, 4, 2> = Multipath::new(Config::DEFAULT).unwrap();
    let a = d
        .controller_mut()
        .add_path(PathSpec::new(GroupId(1), NexusId(1)), ms(0))
        .unwrap();
    let b = d
        .controller_mut()
        .add_path(PathSpec::new(GroupId(1), NexusId(2)), ms(0))
        .unwrap();
    while d.controller_mut().poll_action().is_some() {}
    let mut in_flight = Vec::new();
    let mut waiting = Vec::new();
    for tag in 0..8 {
        match d.submit(Io::write(tag, 4096, 3), ms(0)).unwrap() {
            Disposition::Dispatch(t) => in_flight.push(t),
            Disposition::Busy(io) => waiting.push(io),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!((in_flight.len(), waiting.len()), (4, 4));
    let mut failed_on_a = Vec::new();
    let mut done = Vec::new();
    let mut now = ms(10);
    for t in in_flight.drain(..) {
        if t.path() == a {
            failed_on_a.push(t.io().tag);
            match d.complete(t, path_err(), now).unwrap() {
                Disposition::Queued => {}
                other => panic!("a failed write is held: {other:?}"),
            }
        } else {
            done.push(d.complete_ok(t, now).unwrap().tag);
        }
    }
    assert_eq!(failed_on_a.len(), 2);
    let mut resent = Vec::new();
    while now < ms(300) {
        for io in std::mem::take(&mut waiting) {
            match d.submit(io, now).unwrap() {
                Disposition::Dispatch(t) => resent.push((now, t)),
                Disposition::Busy(io) => waiting.push(io),
                other => panic!("{other:?}"),
            }
        }
        d.controller_mut().handle_timeout(now).unwrap();
        while let Some(act) = d.controller_mut().poll_action() {
            match act {
                Action::Dispatch(t) => resent.push((now, t)),
                Action::Probe(p) => d
                    .controller_mut()
                    .handle_probe(p, ProbeResult::Down, now)
                    .unwrap(),
                other => panic!("{other:?}"),
            }
        }
        for (at, t) in resent.drain(..) {
            assert_eq!(t.path(), b);
            if failed_on_a.contains(&t.io().tag) {
                assert!(at >= ms(110), "write {:?} re-sent at {at:?}", t.io().tag);
            }
            done.push(d.complete_ok(t, now).unwrap().tag);
        }
        now = now.saturating_add(Duration::from_millis(1));
    }
    done.sort();
    assert_eq!(done, (0..8).map(IoTag).collect::<Vec<_>>(), "each once");
    assert_eq!(d.controller().queued(), 0);
}

/// A same-path retry (BUSY, a unit attention) goes back to the path it
/// came from while that path is selectable, whatever round-robin would
/// pick next, at once or after its delay.
#[test]
fn a_same_path_retry_stays_on_its_path() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let _b = add(&mut d, 1, 2, AccessState::Optimized, ms(0));
    drain(&mut d);
    for (k, delay) in [Duration::ZERO, Duration::from_millis(5)]
        .into_iter()
        .enumerate()
    {
        let base = 100 * (k as u64 + 1);
        let t = loop {
            let t = dispatched(submit(&mut d, Io::read(1, 512, 3), ms(base)));
            if t.path() == a {
                break t;
            }
            d.complete_ok(t, ms(base)).unwrap();
        };
        let busy = Outcome::Retry {
            reason: RetryReason::Busy,
            delay,
        };
        let retry = match d.complete(t, busy.into(), ms(base + 1)).unwrap() {
            Disposition::Dispatch(r) => r,
            Disposition::Queued => {
                let wake = d.controller().poll_timeout().unwrap();
                assert_eq!(wake, ms(base + 1).saturating_add(delay));
                d.controller_mut().handle_timeout(wake).unwrap();
                match d.controller_mut().poll_action() {
                    Some(Action::Dispatch(r)) => r,
                    other => panic!("{other:?}"),
                }
            }
            other => panic!("{other:?}"),
        };
        assert_eq!(retry.path(), a, "delay {delay:?}");
        assert_eq!(retry.io().retries, 2);
        let now = d.controller().now();
        d.complete_ok(retry, now).unwrap();
    }
}

/// Notices that come with a completion other than a path error (a
/// success carrying a "path is marginal" notice) change what is
/// selectable at once.
#[test]
fn notices_on_a_good_completion_are_published_at_once() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, ms(0));
    drain(&mut d);
    let t = loop {
        let t = dispatched(submit(&mut d, Io::read(1, 512, 3), ms(1)));
        if t.path() == a {
            break t;
        }
        d.complete_ok(t, ms(1)).unwrap();
    };
    let c = Completion {
        outcome: Outcome::Success,
        notices: Notices::PATH_MARGINAL,
    };
    let _ = d.complete(t, c, ms(2)).unwrap();
    let mask = d.controller().data_plane().selectable();
    assert_eq!(mask, 1 << b.slot(), "the marginal path left the mask");
    // No notices: nothing to republish, nothing changes.
    let t = dispatched(submit(&mut d, Io::read(2, 512, 3), ms(3)));
    let publishes = d.controller().device_snapshot().counters.publishes;
    let _ = d.complete(t, Outcome::Success.into(), ms(3)).unwrap();
    assert_eq!(d.controller().data_plane().selectable(), 1 << b.slot());
    assert_eq!(
        d.controller().device_snapshot().counters.publishes,
        publishes
    );
}

/// Cancelling a tag the device does not hold is an error that changes
/// nothing, not even the clock, while other I/O is held.
#[test]
fn cancel_of_an_unknown_tag_changes_nothing() {
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Queue;
    let mut d = dev(cfg);
    assert_eq!(
        submit(&mut d, Io::read(1, 512, 0), ms(1)),
        Disposition::Queued
    );
    let before = d.controller().now();
    assert_eq!(
        d.controller_mut().cancel(IoTag(2), ms(50)),
        Err(Error::UnknownIo(IoTag(2)))
    );
    assert_eq!(d.controller().now(), before);
    assert_eq!(d.controller().queued(), 1);
    assert_eq!(
        d.controller_mut().cancel(IoTag(1), ms(60)).unwrap().tag,
        IoTag(1)
    );
    assert_eq!(d.controller().queued(), 0);
}

/// Relative throughput set at run time (dm's table argument, the NVMe
/// service-time policy's sysfs file) steers service-time at once: with 4:1
/// and nothing completing, ten 4 KiB reads split 8:2. A value over 100, a
/// stale id and time going backwards are refused and change nothing; 0
/// makes a path a standby.
#[test]
fn relative_throughput_set_at_run_time_steers_service_time() {
    let mut cfg = Config::DEFAULT;
    cfg.policy = Policy::ServiceTime;
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, ms(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, ms(0));
    let gone = add(&mut d, 1, 3, AccessState::Optimized, ms(0));
    d.controller_mut().remove_path(gone, ms(0)).unwrap();
    d.controller_mut()
        .set_relative_throughput(b, 4, ms(1))
        .unwrap();
    assert_eq!(
        d.controller_mut().set_relative_throughput(a, 101, ms(1)),
        Err(Error::Config(ConfigError::OutOfRange {
            field: "relative_throughput"
        }))
    );
    assert_eq!(
        d.controller_mut().set_relative_throughput(gone, 1, ms(1)),
        Err(Error::StalePath(gone))
    );
    assert!(matches!(
        d.controller_mut().set_relative_throughput(a, 100, ms(0)),
        Err(Error::Time(_))
    ));
    let mut tickets = Vec::new();
    for tag in 0..10 {
        tickets.push(dispatched(submit(&mut d, Io::read(tag, 4096, 0), ms(2))));
    }
    let on_b = tickets.iter().filter(|t| t.path() == b).count();
    assert_eq!((on_b, tickets.len() - on_b), (8, 2));
    for t in tickets.drain(..) {
        d.complete_ok(t, ms(3)).unwrap();
    }
    // 0: a standby while another path is selectable.
    d.controller_mut()
        .set_relative_throughput(b, 0, ms(4))
        .unwrap();
    for tag in 10..14 {
        tickets.push(dispatched(submit(&mut d, Io::read(tag, 4096, 0), ms(5))));
    }
    assert!(tickets.iter().all(|t| t.path() == a), "{tickets:?}");
}
