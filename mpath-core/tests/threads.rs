//! Several threads select and complete on one shared data plane while
//! another thread fails and reinstates paths through the controller.

use mpath_core::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant as StdInstant;

const PATHS: usize = 8;
const WORKERS: u64 = 3;
const IOS_PER_WORKER: u64 = 20_000;

fn now(origin: StdInstant) -> Instant {
    Instant::from_nanos(origin.elapsed().as_nanos() as u64)
}

#[test]
fn concurrent_io_with_path_churn_loses_nothing() {
    for policy in [
        Policy::RoundRobin,
        Policy::QueueDepth,
        Policy::ServiceTime,
        Policy::Adaptive,
    ] {
        run(policy);
    }
}

fn run(policy: Policy) {
    let origin = StdInstant::now();
    let dp: DataPlane<PATHS> = DataPlane::new();
    let mut cfg = Config::DEFAULT;
    cfg.policy = policy;
    cfg.no_path = NoPathPolicy::Queue;
    cfg.quiesce_time = Duration::from_micros(50);
    let ctl: Mutex<Controller<&DataPlane<PATHS>, PATHS, 4096>> =
        Mutex::new(Controller::new(&dp, cfg).unwrap());
    let ids: Vec<PathId> = {
        let mut c = ctl.lock().unwrap();
        (0..PATHS as u32)
            .map(|i| {
                c.add_path(PathSpec::new(GroupId(1), NexusId(i)), now(origin))
                    .unwrap()
            })
            .collect()
    };
    let failed_paths: Vec<AtomicBool> = (0..PATHS).map(|_| AtomicBool::new(false)).collect();
    let ended = AtomicU64::new(0);
    let ok = AtomicU64::new(0);
    let failovers = AtomicU64::new(0);
    let stop = AtomicBool::new(false);

    // Carry out the controller's actions: held I/O it dispatches is
    // completed successfully right here.
    let drain = |c: &mut Controller<&DataPlane<PATHS>, PATHS, 4096>| {
        while let Some(a) = c.poll_action() {
            match a {
                Action::Dispatch(t) => {
                    let n = now(origin).max(c.now());
                    match c.handle_completion(t, Outcome::Success.into(), n).unwrap() {
                        Disposition::Done { result: Ok(()), .. } => {
                            ended.fetch_add(1, Ordering::Relaxed);
                            ok.fetch_add(1, Ordering::Relaxed);
                        }
                        other => panic!("{other:?}"),
                    }
                }
                Action::Fail { .. } => {
                    ended.fetch_add(1, Ordering::Relaxed);
                }
                Action::Probe(p) => {
                    let n = now(origin).max(c.now());
                    let r = if failed_paths[p.slot()].load(Ordering::Relaxed) {
                        ProbeResult::Down
                    } else {
                        ProbeResult::Up
                    };
                    c.handle_probe(p, r, n).unwrap();
                }
                _ => {}
            }
        }
    };

    std::thread::scope(|s| {
        for w in 0..WORKERS {
            let (dp, ctl, ended, ok, failovers, failed_paths) =
                (&dp, &ctl, &ended, &ok, &failovers, &failed_paths);
            let drain = &drain;
            s.spawn(move || {
                let mut cursor: Cursor<PATHS> = Cursor::new(Locality(w as u32));
                for i in 0..IOS_PER_WORKER {
                    let io = Io::write(w << 32 | i, 4096, 2);
                    let t = match dp.submit(&mut cursor, io, now(origin)) {
                        Ok(t) => t,
                        Err(io) => {
                            let mut c = ctl.lock().unwrap();
                            let n = now(origin).max(c.now());
                            match c.submit(io, n).unwrap() {
                                Disposition::Dispatch(t) => t,
                                Disposition::Queued => {
                                    drain(&mut c);
                                    continue;
                                }
                                other => panic!("{other:?}"),
                            }
                        }
                    };
                    // A path that is failed right now fails its I/O, and
                    // every 97th I/O meets a path error anyway (a zombie).
                    if failed_paths[t.path().slot()].load(Ordering::Relaxed) || i % 97 == 0 {
                        failovers.fetch_add(1, Ordering::Relaxed);
                        let mut c = ctl.lock().unwrap();
                        let n = now(origin).max(c.now());
                        let d = c
                            .handle_completion(
                                t,
                                Outcome::PathError(PathErrorKind::Transport).into(),
                                n,
                            )
                            .unwrap();
                        match d {
                            Disposition::Dispatch(t) => {
                                let n = now(origin).max(c.now());
                                let _ = c.handle_completion(t, Outcome::Success.into(), n);
                                ended.fetch_add(1, Ordering::Relaxed);
                                ok.fetch_add(1, Ordering::Relaxed);
                            }
                            Disposition::Queued => {}
                            other => panic!("{other:?}"),
                        }
                        drain(&mut c);
                    } else {
                        dp.complete(&mut cursor, t, now(origin)).unwrap();
                        ended.fetch_add(1, Ordering::Relaxed);
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    for slot in 0..PATHS {
                        let (ios, bytes) = cursor.unpublished(slot);
                        assert!(ios.unsigned_abs() < load::PUBLISH_IOS, "{ios}");
                        assert!(bytes.unsigned_abs() < load::PUBLISH_BYTES, "{bytes}");
                    }
                }
                // The CPU goes idle: its part of the load is published.
                dp.park(&mut cursor);
            });
        }
        // The churn thread.
        let (ctl, failed_paths, stop, ids) = (&ctl, &failed_paths, &stop, &ids);
        let drain = &drain;
        s.spawn(move || {
            let mut k = 0usize;
            while !stop.load(Ordering::Relaxed) && k < 20_000 {
                let p = ids[k % PATHS];
                let fail = k % 2 == 0;
                failed_paths[p.slot()].store(fail, Ordering::Relaxed);
                {
                    let mut c = ctl.lock().unwrap();
                    let n = now(origin).max(c.now());
                    if fail {
                        c.fail_path(p, n).unwrap();
                    } else {
                        c.reinstate_path(p, n).unwrap();
                    }
                    drain(&mut c);
                }
                k += 1;
                std::thread::yield_now();
            }
        });
        // Wait for the workers' I/O to end, then stop the churn.
        while ended.load(Ordering::Relaxed) < WORKERS * IOS_PER_WORKER {
            let mut c = ctl.lock().unwrap();
            let n = now(origin).max(c.now());
            c.handle_timeout(n).unwrap();
            drain(&mut c);
            drop(c);
            std::thread::yield_now();
            if origin.elapsed().as_secs() > 60 {
                panic!(
                    "I/O lost: {} of {}",
                    ended.load(Ordering::Relaxed),
                    WORKERS * IOS_PER_WORKER
                );
            }
            if ended.load(Ordering::Relaxed) + 64 > WORKERS * IOS_PER_WORKER {
                // Make sure held I/O can go out at the end.
                for &p in ids.iter() {
                    failed_paths[p.slot()].store(false, Ordering::Relaxed);
                }
            }
        }
        stop.store(true, Ordering::Relaxed);
    });

    // Reinstate everything and drain what is still held.
    let mut c = ctl.lock().unwrap();
    for &p in &ids {
        let n = now(origin).max(c.now());
        c.reinstate_path(p, n).unwrap();
        c.handle_probe(p, ProbeResult::Up, n).unwrap();
    }
    let n = now(origin).max(c.now());
    c.handle_timeout(n + Duration::from_secs(1)).unwrap();
    drain(&mut c);
    assert_eq!(c.queued(), 0, "{policy}");
    assert_eq!(
        ended.load(Ordering::Relaxed),
        WORKERS * IOS_PER_WORKER,
        "{policy}"
    );
    assert_eq!(
        ok.load(Ordering::Relaxed),
        WORKERS * IOS_PER_WORKER,
        "{policy}: every I/O succeeded in the end"
    );
    // Every worker parked its cursor; the controller's own holds the rest
    // (failed completions end there): together they balance exactly.
    for slot in 0..PATHS {
        let (ios, bytes) = dp.published_load(slot);
        let (cios, cbytes) = c.cursor().unpublished(slot);
        assert_eq!(ios + cios, 0, "{policy}: slot {slot} count balances");
        assert_eq!(bytes + cbytes, 0, "{policy}: slot {slot} bytes balance");
    }
    assert!(
        failovers.load(Ordering::Relaxed) > 0,
        "{policy}: the churn caused failovers"
    );
    let snap = c.device_snapshot();
    assert_eq!(
        snap.counters.failovers,
        failovers.load(Ordering::Relaxed),
        "{policy}"
    );
}

/// Slot-reuse churn: slot 0 alternates between an optimized path and a
/// standby path (never selectable while slot 1's optimized path is up)
/// while workers select without a lock. No worker may ever be handed a
/// standby path. `tests/loom_select.rs` proves the same over every
/// interleaving of one swap; this runs millions of real ones.
#[test]
fn selection_under_add_remove_churn_never_returns_an_unselectable_path() {
    const SWAPS: usize = 20_000;
    for policy in [Policy::RoundRobin, Policy::Locality, Policy::QueueDepth] {
        let dp: DataPlane<2> = DataPlane::new();
        let mut cfg = Config::DEFAULT;
        cfg.policy = policy;
        let mut ctl: Controller<&DataPlane<2>, 2, 16, 4> = Controller::new(&dp, cfg).unwrap();
        let t0 = Instant::from_nanos(0);
        let spec = |group, nexus, state| {
            PathSpec::new(GroupId(group), NexusId(nexus))
                .with_access(GroupAccess::new(state))
                .with_locality(Locality(1))
        };
        let mut slot0 = ctl
            .add_path(spec(1, 0, AccessState::Optimized), t0)
            .unwrap();
        let _steady = ctl
            .add_path(spec(1, 1, AccessState::Optimized), t0)
            .unwrap();
        let stop = AtomicBool::new(false);
        let running = std::sync::atomic::AtomicUsize::new(0);
        let standby_ids = Mutex::new(Vec::new());
        let picked: Vec<Vec<u32>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut cursor: Cursor<2> = Cursor::new(Locality(1));
                        let io = Io::read(0, 4096, 0);
                        let mut seen = Vec::new();
                        let mut first = true;
                        while !stop.load(Ordering::Relaxed) {
                            if let Some(p) = dp.select(&mut cursor, &io, t0) {
                                seen.push(p.to_raw());
                            }
                            if std::mem::take(&mut first) {
                                running.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        seen.sort_unstable();
                        seen.dedup();
                        seen
                    })
                })
                .collect();
            // The swaps start once both workers select (a thread can take
            // longer to start than all the swaps take).
            while running.load(Ordering::Relaxed) < 2 {
                std::hint::spin_loop();
            }
            for i in 0..SWAPS {
                ctl.remove_path(slot0, t0).unwrap();
                let (group, state) = if i % 2 == 0 {
                    (2, AccessState::Standby)
                } else {
                    (1, AccessState::Optimized)
                };
                slot0 = ctl.add_path(spec(group, 2 + i as u32, state), t0).unwrap();
                assert_eq!(slot0.slot(), 0);
                if state == AccessState::Standby {
                    standby_ids.lock().unwrap().push(slot0.to_raw());
                }
            }
            stop.store(true, Ordering::Relaxed);
            workers.into_iter().map(|w| w.join().unwrap()).collect()
        });
        let standby = standby_ids.into_inner().unwrap();
        for seen in picked {
            assert!(!seen.is_empty(), "{policy:?}: a worker selected nothing");
            for raw in seen {
                assert!(
                    !standby.contains(&raw),
                    "{policy:?}: selected standby path {:?}",
                    PathId::from_raw(raw)
                );
            }
        }
    }
}
