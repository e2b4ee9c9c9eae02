//! Probing, zombie (marginal) paths, flap damping.

mod common;
use common::*;
use mpath_core::*;

fn probe_due(d: &mut Dev) -> Vec<PathId> {
    drain(d)
        .into_iter()
        .filter_map(|a| match a {
            Action::Probe(p) => Some(p),
            _ => None,
        })
        .collect()
}

#[test]
fn probe_interval_grows_on_a_healthy_path_and_resets_on_change() {
    let mut d = dev(Config::DEFAULT); // 5 s .. 20 s
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let mut now = secs(0);
    let mut gaps = Vec::new();
    for _ in 0..5 {
        let next = d.controller().poll_timeout().unwrap();
        gaps.push((next.as_nanos() - now.as_nanos()) / 1_000_000_000);
        now = next;
        d.controller_mut().handle_timeout(now).unwrap();
        assert_eq!(probe_due(&mut d), vec![a]);
        d.controller_mut()
            .handle_probe(a, ProbeResult::Up, now)
            .unwrap();
    }
    assert_eq!(gaps, [5, 10, 20, 20, 20]);
    // Down: back to the minimum, and the path leaves the selectable set.
    let now = d.controller().poll_timeout().unwrap();
    d.controller_mut().handle_timeout(now).unwrap();
    probe_due(&mut d);
    d.controller_mut()
        .handle_probe(a, ProbeResult::Down, now)
        .unwrap();
    let s = d.controller().path_snapshot(a, &[]).unwrap();
    assert_eq!(s.probe_interval, Duration::from_secs(5));
    assert_eq!(s.link, Link::Down);
    assert!(!s.selectable);
    assert_eq!(s.counters.probe_failures, 1);
}

#[test]
fn tur_meanings() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    drain(&mut d);
    let cases = [
        (ProbeResult::Pending, Link::Pending, true),
        (ProbeResult::Up, Link::Up, false),
        // Ghost while we think the group is optimized: state is stale.
        (ProbeResult::Ghost, Link::Up, true),
        (ProbeResult::Down, Link::Down, false),
        (ProbeResult::Up, Link::Up, false),
    ];
    for (i, (result, link, refresh)) in cases.into_iter().enumerate() {
        let now = secs(1 + i as u64);
        d.controller_mut().handle_probe(a, result, now).unwrap();
        let acts = drain(&mut d);
        assert_eq!(
            d.controller().path_snapshot(a, &[]).unwrap().link,
            link,
            "{result:?}"
        );
        assert_eq!(
            acts.contains(&Action::RefreshAccessState { via: a }),
            refresh,
            "{result:?}: {acts:?}"
        );
        if refresh {
            d.controller_mut()
                .handle_refresh_result(a, true, now)
                .unwrap();
        }
    }
    // Retry asks again after the retry delay without changing the link.
    d.controller_mut()
        .handle_probe(a, ProbeResult::Retry, secs(10))
        .unwrap();
    assert_eq!(d.controller().poll_timeout(), Some(secs(11)));
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized);
}

#[test]
fn probe_timeout_counts_as_down() {
    let mut d = dev(Config::DEFAULT); // timeout 30 s
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    d.controller_mut().handle_timeout(secs(5)).unwrap();
    assert_eq!(probe_due(&mut d), vec![a]);
    assert_eq!(d.controller().poll_timeout(), Some(secs(35)));
    d.controller_mut().handle_timeout(secs(35)).unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Ineligible);
    // ...and a new probe goes out at once.
    assert_eq!(probe_due(&mut d), vec![a]);
}

/// A zombie: TUR passes, every I/O fails. It must end up used only as a
/// last resort, while a healthy non-optimized path carries the I/O.
#[test]
fn zombie_path_becomes_marginal_and_last_resort() {
    let mut cfg = Config::DEFAULT;
    cfg.marginal = MarginalConfig {
        double_failure_window: Duration::from_secs(60),
        sample_time: Duration::from_secs(30),
        error_rate_permille: 500,
        min_samples: 5,
        recheck_gap: Duration::from_secs(600),
    };
    let mut d = dev(cfg);
    let zombie = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let good = add(&mut d, 2, 2, AccessState::NonOptimized, secs(0));
    drain(&mut d);
    let mut now = secs(1);
    let mut tag = 0;
    // Each I/O fails on the zombie, fails over to `good`, the probe passes
    // and reinstates the zombie.
    for _ in 0..8 {
        tag += 1;
        let t = dispatched(submit(&mut d, Io::read(tag, 4096, 0), now));
        assert_eq!(t.path(), zombie);
        let r = dispatched(d.complete(t, path_err(), now).unwrap());
        assert_eq!(r.path(), good);
        d.complete_ok(r, now).unwrap();
        for a in drain(&mut d) {
            if let Action::Probe(p) = a {
                d.controller_mut()
                    .handle_probe(p, ProbeResult::Up, now)
                    .unwrap();
            }
        }
        now = Instant::from_nanos(now.as_nanos() + 1_000_000_000);
    }
    let s = d.controller().path_snapshot(zombie, &[]).unwrap();
    assert_eq!(s.health, Health::Sampling);
    d.controller_mut().handle_timeout(secs(40)).unwrap();
    let s = d.controller().path_snapshot(zombie, &[]).unwrap();
    assert_eq!(s.health, Health::Marginal);
    assert_eq!(s.tier, Tier::Marginal);
    assert_eq!(s.counters.marginal_verdicts, 1);
    // I/O now goes to the healthy non-optimized path...
    let t = dispatched(submit(&mut d, Io::read(100, 4096, 0), secs(41)));
    assert_eq!(t.path(), good);
    d.complete_ok(t, secs(41)).unwrap();
    // ...and to the zombie only when nothing else is left.
    d.controller_mut().fail_path(good, secs(42)).unwrap();
    let t = dispatched(submit(&mut d, Io::read(101, 4096, 0), secs(42)));
    assert_eq!(t.path(), zombie);
    let _ = d.complete(t, path_err(), secs(42)).unwrap();
}

/// Fail `errors` reads on `a` at `now`, each failed over and the path
/// reinstated by a passing probe; reads that land elsewhere succeed.
/// Returns the last tag used.
fn fail_and_reinstate(d: &mut Dev, a: PathId, errors: usize, now: Instant) -> u64 {
    let mut tag = 0;
    let mut failed = 0;
    while failed < errors {
        tag += 1;
        let t = dispatched(submit(d, Io::read(tag, 512, 0), now));
        if t.path() == a {
            failed += 1;
            let r = dispatched(d.complete(t, path_err(), now).unwrap());
            d.complete_ok(r, now).unwrap();
            d.controller_mut()
                .handle_probe(a, ProbeResult::Up, now)
                .unwrap();
        } else {
            d.complete_ok(t, now).unwrap();
        }
    }
    tag
}

#[test]
fn good_path_with_rare_errors_stays_healthy() {
    let mut cfg = Config::DEFAULT;
    cfg.marginal.sample_time = Duration::from_secs(30);
    cfg.marginal.min_samples = 5;
    cfg.marginal.error_rate_permille = 100;
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    drain(&mut d);
    // Two path errors close together start a sample...
    fail_and_reinstate(&mut d, a, 2, secs(1));
    assert_eq!(
        d.controller().path_snapshot(a, &[]).unwrap().health,
        Health::Sampling
    );
    // ...during which many I/Os succeed.
    for i in 0..200 {
        let t = dispatched(submit(&mut d, Io::read(1000 + i, 512, 0), secs(2)));
        d.complete_ok(t, secs(2)).unwrap();
    }
    d.controller_mut().handle_timeout(secs(31)).unwrap();
    let s = d.controller().path_snapshot(a, &[]).unwrap();
    assert_eq!(s.health, Health::Healthy);
    assert_eq!(s.tier, Tier::Optimized);
    let _ = b;
}

#[test]
fn flapping_path_is_held_out_for_the_recovery_time() {
    let mut cfg = Config::DEFAULT;
    cfg.flap = FlapConfig {
        threshold: 3,
        forget_interval: Duration::from_secs(60),
        recovery_time: Duration::from_secs(120),
    };
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let _b = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    for i in 0..3u64 {
        d.controller_mut()
            .handle_probe(a, ProbeResult::Down, secs(1 + 2 * i))
            .unwrap();
        d.controller_mut()
            .handle_probe(a, ProbeResult::Up, secs(2 + 2 * i))
            .unwrap();
    }
    let s = d.controller().path_snapshot(a, &[]).unwrap();
    assert_eq!(s.health, Health::Damped);
    assert_eq!(s.tier, Tier::Ineligible);
    assert_eq!(s.counters.damped, 1);
    assert_eq!(
        d.controller().poll_timeout().map(|t| t <= secs(126)),
        Some(true)
    );
    d.controller_mut().handle_timeout(secs(126)).unwrap();
    let s = d.controller().path_snapshot(a, &[]).unwrap();
    assert_eq!(s.health, Health::Healthy);
    assert_eq!(s.tier, Tier::Optimized);
}

#[test]
fn transport_marginal_notice_and_manual_commands() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    d.controller_mut()
        .handle_notices(a, Notices::PATH_MARGINAL, secs(1))
        .unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Marginal);
    d.controller_mut().clear_marginal(a, secs(2)).unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized);
    // An admin-failed path stays failed whatever the probe says.
    d.controller_mut().fail_path(a, secs(3)).unwrap();
    d.controller_mut()
        .handle_probe(a, ProbeResult::Up, secs(4))
        .unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Ineligible);
    d.controller_mut().reinstate_path(a, secs(5)).unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized);
    // Link events from the transport.
    d.controller_mut()
        .handle_link(a, LinkEvent::Down, secs(6))
        .unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Ineligible);
    d.controller_mut()
        .handle_link(a, LinkEvent::Up, secs(7))
        .unwrap();
    assert!(drain(&mut d).contains(&Action::Probe(a)));
    d.controller_mut()
        .handle_probe(a, ProbeResult::Up, secs(7))
        .unwrap();
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized);
}

/// Finish every action: probes of `down` answer Down, others Up; held
/// I/O completes OK.
fn answer_all(d: &mut Dev, down: Option<PathId>, now: Instant) {
    while let Some(a) = d.controller_mut().poll_action() {
        match a {
            Action::Probe(p) => {
                let r = if Some(p) == down {
                    ProbeResult::Down
                } else {
                    ProbeResult::Up
                };
                d.controller_mut().handle_probe(p, r, now).unwrap()
            }
            Action::Dispatch(t) => {
                let _ = d.complete(t, Outcome::Success.into(), now).unwrap();
            }
            _ => {}
        }
    }
}

fn health(d: &Dev, p: PathId) -> Health {
    d.controller().path_snapshot(p, &[]).unwrap().health
}

/// One link drop with 32 reads outstanding is one failure event: the
/// probe comes back up, clean I/O follows, and the path is healthy. Errors
/// from I/O that was already in flight when the path failed say nothing
/// about the path after it came back.
#[test]
fn one_outage_with_a_burst_of_timeouts_leaves_the_path_healthy() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    drain(&mut d);
    let mut on_a = Vec::new();
    for tag in 0..64 {
        let t = dispatched(submit(&mut d, Io::read(tag, 4096, 3), secs(1)));
        if t.path() == a {
            on_a.push(t);
        } else {
            let _ = d.complete(t, Outcome::Success.into(), secs(1)).unwrap();
        }
    }
    assert_eq!(on_a.len(), 32);
    for t in on_a {
        let c = Outcome::PathError(PathErrorKind::Timeout).into();
        match d.complete(t, c, secs(30)).unwrap() {
            Disposition::Dispatch(retry) => {
                assert_eq!(retry.path(), b);
                let _ = d
                    .complete(retry, Outcome::Success.into(), secs(30))
                    .unwrap();
            }
            other => panic!("a read fails over at once: {other:?}"),
        }
    }
    answer_all(&mut d, None, secs(31));
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized);
    for tag in 100..200 {
        let t = dispatched(submit(&mut d, Io::read(tag, 4096, 3), secs(32)));
        let _ = d.complete(t, Outcome::Success.into(), secs(32)).unwrap();
    }
    // Past any sample window the outage could have started.
    for s in [60, 95, 130, 400] {
        d.controller_mut().handle_timeout(secs(s)).unwrap();
        answer_all(&mut d, None, secs(s));
        assert_eq!(health(&d, a), Health::Healthy, "at {s} s");
        assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized, "at {s} s");
    }
    let s = d.controller().path_snapshot(a, &[]).unwrap();
    assert_eq!(s.counters.marginal_verdicts, 0);
    assert_eq!(s.counters.marginal_samples, 0);
}

/// A two-minute outage with failing probes and 16 I/Os outstanding: the
/// checker saw the path down, so the errors are the outage's, not a sign
/// of a marginal path. Back up, it is healthy.
#[test]
fn a_long_outage_seen_by_the_checker_is_not_marginal() {
    let mut d = dev(Config::DEFAULT);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let b = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    drain(&mut d);
    let mut on_a = Vec::new();
    for tag in 0..32 {
        let t = dispatched(submit(&mut d, Io::read(tag, 4096, 3), secs(1)));
        if t.path() == a {
            on_a.push(t);
        } else {
            let _ = d.complete(t, Outcome::Success.into(), secs(1)).unwrap();
        }
    }
    assert_eq!(on_a.len(), 16);
    // The first error, then the checker fails for two minutes; the rest of
    // the outstanding I/O times out along the way.
    let mut on_a = on_a.into_iter();
    let first = on_a.next().unwrap();
    let c = Outcome::PathError(PathErrorKind::Timeout).into();
    let retry = dispatched(d.complete(first, c, secs(2)).unwrap());
    assert_eq!(retry.path(), b);
    let _ = d.complete(retry, Outcome::Success.into(), secs(2)).unwrap();
    let mut now = secs(2);
    for s in (5..=120).step_by(5) {
        now = secs(s);
        d.controller_mut().handle_timeout(now).unwrap();
        answer_all(&mut d, Some(a), now);
        if let Some(t) = on_a.next() {
            let c = Outcome::PathError(PathErrorKind::Timeout).into();
            let retry = dispatched(d.complete(t, c, now).unwrap());
            let _ = d.complete(retry, Outcome::Success.into(), now).unwrap();
        }
    }
    assert!(on_a.next().is_none());
    now = now.saturating_add(Duration::from_secs(1));
    d.controller_mut()
        .handle_probe(a, ProbeResult::Up, now)
        .unwrap();
    for tag in 100..140 {
        let t = dispatched(submit(&mut d, Io::read(tag, 4096, 3), now));
        let _ = d.complete(t, Outcome::Success.into(), now).unwrap();
    }
    for s in [130, 200, 500] {
        d.controller_mut().handle_timeout(secs(s)).unwrap();
        answer_all(&mut d, None, secs(s));
        assert_eq!(health(&d, a), Health::Healthy, "at {s} s");
    }
    assert_eq!(
        d.controller()
            .path_snapshot(a, &[])
            .unwrap()
            .counters
            .marginal_verdicts,
        0
    );
}

/// A zombie whose failures each come from I/O started after the probe
/// reinstated it is still found, with every error in a burst counted once.
#[test]
fn a_zombie_is_still_found_when_bursts_count_once() {
    let mut cfg = Config::DEFAULT;
    cfg.marginal.sample_time = Duration::from_secs(60);
    cfg.marginal.min_samples = 10;
    let mut d = dev(cfg);
    let zombie = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let _good = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    drain(&mut d);
    let mut tag = 0;
    for s in 1..=70u64 {
        let now = secs(s);
        // Four I/Os at once: two land on the zombie, and both fail.
        let mut failed = Vec::new();
        for _ in 0..4 {
            tag += 1;
            let t = dispatched(submit(&mut d, Io::read(tag, 4096, 3), now));
            if t.path() == zombie {
                failed.push(t);
            } else {
                let _ = d.complete(t, Outcome::Success.into(), now).unwrap();
            }
        }
        for t in failed {
            let c = Outcome::PathError(PathErrorKind::Transport).into();
            if let Disposition::Dispatch(r) = d.complete(t, c, now).unwrap() {
                let _ = d.complete(r, Outcome::Success.into(), now).unwrap();
            }
        }
        answer_all(&mut d, None, now);
    }
    assert_eq!(health(&d, zombie), Health::Marginal);
    assert_eq!(d.controller().tier(zombie).unwrap(), Tier::Marginal);
}

/// The error rate is errors over all sampled I/O: successes counted on the
/// data plane while the path is sampled weigh in. Two errors in the sample
/// among two hundred good completions is 1 %, below a 10 % threshold:
/// healthy (without the successes it would be 100 %).
#[test]
fn sampled_successes_weigh_in_the_error_rate() {
    let mut cfg = Config::DEFAULT;
    cfg.marginal.sample_time = Duration::from_secs(30);
    cfg.marginal.min_samples = 2;
    cfg.marginal.error_rate_permille = 100;
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    let _b = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
    drain(&mut d);
    // The second error starts the sample; the third is counted in it.
    let mut tag = fail_and_reinstate(&mut d, a, 3, secs(1));
    assert_eq!(health(&d, a), Health::Sampling);
    assert_eq!(
        d.controller()
            .path_snapshot(a, &[])
            .unwrap()
            .counters
            .marginal_samples,
        1
    );
    let mut on_a = 0;
    while on_a < 200 {
        tag += 1;
        let t = dispatched(submit(&mut d, Io::read(tag, 512, 0), secs(2)));
        on_a += usize::from(t.path() == a);
        d.complete_ok(t, secs(2)).unwrap();
    }
    d.controller_mut().handle_timeout(secs(31)).unwrap();
    assert_eq!(health(&d, a), Health::Healthy);
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Optimized);
}

/// Submit reads until one lands on `p`; the others complete at once.
fn io_on(d: &mut Dev, p: PathId, tag: &mut u64, now: Instant) -> Ticket {
    for _ in 0..64 {
        *tag += 1;
        let t = dispatched(submit(d, Io::read(*tag, 512, 0), now));
        if t.path() == p {
            return t;
        }
        d.complete_ok(t, now).unwrap();
    }
    panic!("{p:?} is not selected");
}

/// Which errors count towards marginal detection: only a path error on a
/// path that is up, from I/O started since the path last failed, whether
/// that failure was a path error or the checker's.
#[test]
fn only_new_failures_of_an_up_path_count_towards_marginal() {
    let health_after = |script: &dyn Fn(&mut Dev, PathId, &mut u64)| {
        let mut d = dev(Config::DEFAULT);
        let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
        let _b = add(&mut d, 1, 2, AccessState::Optimized, secs(0));
        drain(&mut d);
        let mut tag = 0;
        script(&mut d, a, &mut tag);
        let s = d.controller().path_snapshot(a, &[]).unwrap();
        (s.health, s.counters.marginal_samples)
    };
    let fail = |d: &mut Dev, t: Ticket, now: Instant| {
        let r = dispatched(d.complete(t, path_err(), now).unwrap());
        d.complete_ok(r, now).unwrap();
    };
    let up = |d: &mut Dev, a: PathId, now: Instant| {
        d.controller_mut()
            .handle_probe(a, ProbeResult::Up, now)
            .unwrap()
    };
    // Two new failures within the window: sampling starts.
    let (h, n) = health_after(&|d, a, tag| {
        let t = io_on(d, a, tag, secs(1));
        fail(d, t, secs(1));
        up(d, a, secs(2));
        let t = io_on(d, a, tag, secs(3));
        fail(d, t, secs(3));
    });
    assert_eq!((h, n), (Health::Sampling, 1));
    // The second error is from I/O started before the first failure (a
    // path error): one event.
    let (h, n) = health_after(&|d, a, tag| {
        let old = io_on(d, a, tag, secs(1));
        let t = io_on(d, a, tag, secs(1));
        fail(d, t, secs(2));
        up(d, a, secs(3));
        fail(d, old, secs(4));
    });
    assert_eq!((h, n), (Health::Healthy, 0));
    // The same when the checker found the path down first.
    let (h, n) = health_after(&|d, a, tag| {
        let old = io_on(d, a, tag, secs(1));
        d.controller_mut()
            .handle_probe(a, ProbeResult::Down, secs(2))
            .unwrap();
        up(d, a, secs(3));
        fail(d, old, secs(4));
        up(d, a, secs(4));
        let t = io_on(d, a, tag, secs(5));
        fail(d, t, secs(5));
    });
    assert_eq!((h, n), (Health::Healthy, 0));
    // An error on a path already down (I/O started on it in the race with
    // its failure) is not evidence against it.
    let (h, n) = health_after(&|d, a, tag| {
        d.controller_mut()
            .handle_probe(a, ProbeResult::Down, secs(1))
            .unwrap();
        let dp = d.controller().data_plane();
        let mut cpu: Cursor<8> = Cursor::new(Locality(0));
        let raced = dp
            .start(&mut cpu, a, Io::read(999, 512, 0), secs(2))
            .unwrap();
        fail(d, raced, secs(3));
        up(d, a, secs(4));
        let t = io_on(d, a, tag, secs(5));
        fail(d, t, secs(5));
    });
    assert_eq!((h, n), (Health::Healthy, 0));
    // An error, then an outage the checker saw: the error was the
    // outage's. One more error after the path returns is a first one.
    let (h, n) = health_after(&|d, a, tag| {
        let t = io_on(d, a, tag, secs(1));
        fail(d, t, secs(1));
        d.controller_mut()
            .handle_probe(a, ProbeResult::Down, secs(2))
            .unwrap();
        up(d, a, secs(3));
        let t = io_on(d, a, tag, secs(4));
        fail(d, t, secs(4));
    });
    assert_eq!((h, n), (Health::Healthy, 0));
}

/// The transport's "link down" and probe timeouts count for flap damping
/// like failed probes: a path that keeps dropping is held out.
#[test]
fn link_down_events_count_for_flap_damping() {
    let mut cfg = Config::DEFAULT;
    cfg.flap = FlapConfig {
        threshold: 2,
        forget_interval: Duration::from_secs(100),
        recovery_time: Duration::from_secs(60),
    };
    let mut d = dev(cfg);
    let a = add(&mut d, 1, 1, AccessState::Optimized, secs(0));
    drain(&mut d);
    for s in [1, 3] {
        d.controller_mut()
            .handle_link(a, LinkEvent::Down, secs(s))
            .unwrap();
        d.controller_mut()
            .handle_probe(a, ProbeResult::Up, secs(s + 1))
            .unwrap();
    }
    assert_eq!(health(&d, a), Health::Damped);
    assert_eq!(d.controller().tier(a).unwrap(), Tier::Ineligible);
}
