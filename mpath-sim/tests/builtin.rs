//! Each built-in scenario's headline, asserted on the engine's own run
//! (the built-ins as shipped, whole; seed 1 unless a test says).
//!
//! The two published setups are checked selector by selector against the
//! fabric's ideal (`engine::ideal`). What is asserted is what the engine
//! achieves today, with margins; where that falls short of issue 12's goal
//! the test says so beside the assertion, so a selector that improves
//! shows up as a failing "not yet" rather than passing unnoticed.

use mpath_core::{Duration, Instant, NoPathPolicy, Policy};
use mpath_sim::builtin::by_name;
use mpath_sim::engine::{ideal, Fault, Invariant, Report, Scenario, Sim};

fn builtin(name: &str) -> Scenario {
    by_name(name).expect("a built-in")
}

fn run(s: &Scenario) -> Report {
    let r = Sim::new(s.clone(), 1).unwrap().run();
    assert_eq!(r.violation, None, "{}", s.name);
    r
}

fn with_policy(name: &str, p: Policy) -> (Scenario, Report) {
    let mut s = builtin(name);
    s.policy = p;
    let r = run(&s);
    (s, r)
}

/// % of the fabric's ideal.
fn pct(s: &Scenario, r: &Report) -> f64 {
    100.0 * ideal(s).fraction(r.iops())
}

fn stddev(r: &Report) -> f64 {
    r.latency_us.stdev()
}

/// Successful I/O per second on `path` (every path: `None`) over the
/// timeline's slices that lie within `from..to` ms.
fn rate(r: &Report, path: Option<usize>, from_ms: u64, to_ms: u64) -> f64 {
    let slice = r.timeline.slice.as_nanos();
    let mut n = 0u64;
    let mut slices = 0u64;
    for (k, x) in r.timeline.samples.iter().enumerate() {
        let start = k as u64 * slice;
        if start >= from_ms * 1_000_000 && start + slice <= to_ms * 1_000_000 {
            n += path.map_or_else(|| x.ios.iter().sum(), |p| x.ios[p]);
            slices += 1;
        }
    }
    assert!(slices > 0, "no slice within {from_ms}..{to_ms} ms");
    n as f64 / (slices * slice) as f64 * 1e9
}

/// I/O failed upward in slices starting within `from..to` ms.
fn failed_in(r: &Report, from_ms: u64, to_ms: u64) -> u64 {
    let slice = r.timeline.slice.as_nanos();
    r.timeline
        .samples
        .iter()
        .enumerate()
        .filter(|(k, _)| {
            let start = *k as u64 * slice;
            start >= from_ms * 1_000_000 && start < to_ms * 1_000_000
        })
        .map(|(_, x)| x.failed)
        .sum()
}

/// Failover: after each fault, I/O completes again within the detection
/// time plus 1 ms of virtual time.
fn resumes_in_time(s: &Scenario, r: &Report) {
    resumes_in_time_after(s, r, |_| true);
}

/// The same, for the faults `which` picks.
fn resumes_in_time_after(s: &Scenario, r: &Report, which: impl Fn(&Fault) -> bool) {
    let bound = s.detect.saturating_add(Duration::from_millis(1));
    assert_eq!(r.resume.len(), s.faults.len());
    for (i, ((at, f), resumed)) in s.faults.iter().zip(&r.resume).enumerate() {
        if !which(f) {
            continue;
        }
        let d = resumed.unwrap_or_else(|| panic!("{}: nothing after fault {i} {f:?}", s.name));
        assert!(
            d <= bound,
            "{}: fault {i} {f:?} at {at:?}: resumed after {d:?}, over {bound:?}",
            s.name
        );
    }
}

// ----- the published setups -----

/// Nilay Shroff's NVMe/TCP setup, one path 30 ms further (round trip):
/// published adaptive 350 MiB/s, queue-depth 230, round-robin 105, numa
/// 50. The engine gives the same order: numa (on the slow path) about
/// half of round-robin, queue-depth about half of the ideal (it keeps
/// equal counts outstanding, so half the queue waits on the slow path),
/// adaptive near the ideal.
#[test]
fn delayed_path_selectors_against_the_ideal() {
    let s = builtin("delayed-path");
    let i = ideal(&s);
    // The fast path is latency-bound at this queue depth (what makes
    // placement matter): it would take more outstanding I/O than the
    // workload has to saturate it.
    let fast = i.paths[1];
    assert!(
        fast.outstanding < fast.capacity * fast.round_trip * 0.6,
        "{fast:?}"
    );
    assert!(
        fast.round_trip > 100e-6 && fast.round_trip < 300e-6,
        "{fast:?}"
    );

    let p: Vec<(Policy, f64, Report)> = Policy::ALL
        .into_iter()
        .map(|pol| {
            let (s, r) = with_policy("delayed-path", pol);
            (pol, pct(&s, &r), r)
        })
        .collect();
    let of = |pol: Policy| p.iter().find(|x| x.0 == pol).map(|x| x.1).unwrap();
    for (pol, pc, _) in &p {
        assert!(*pc <= 100.5, "{pol:?} beat the ideal: {pc:.1} %");
    }
    let (numa, rr, qd, st, ad) = (
        of(Policy::Locality),
        of(Policy::RoundRobin),
        of(Policy::QueueDepth),
        of(Policy::ServiceTime),
        of(Policy::Adaptive),
    );
    // Published: round-robin 105 MiB/s, numa 50.
    assert!(rr < 3.0, "round-robin {rr:.1} %");
    assert!(numa < 0.7 * rr, "numa {numa:.1} % vs round-robin {rr:.1} %");
    // Published: queue-depth 230 MiB/s, 2.2x round-robin.
    assert!((45.0..55.0).contains(&qd), "queue-depth {qd:.1} %");
    // Issue 12's goal: adaptive and service-time >= 95 % of ideal and
    // >= 1.5x queue-depth. Met: adaptive 95.9 % (1.9x) unaided,
    // service-time 99.5 % (2.0x) with the operator's weights.
    for (name, x) in [("adaptive", ad), ("service-time", st)] {
        assert!(x >= 95.0, "{name} {x:.1} %");
        assert!(x >= 1.5 * qd, "{name} {x:.1} % vs queue-depth {qd:.1} %");
    }
    // The weights are what does it: at dm's default (1 everywhere),
    // service-time keeps equal bytes outstanding, queue-depth's placement.
    let unweighted = unweighted_service_time("delayed-path");
    assert!(
        (unweighted.0 - qd).abs() < 1.0,
        "unweighted service-time {:.1} % vs queue-depth {qd:.1} %",
        unweighted.0
    );
}

/// `name` under service-time with every path's weight at dm's default:
/// (% of ideal, latency stddev).
fn unweighted_service_time(name: &str) -> (f64, f64) {
    let mut s = builtin(name);
    s.policy = Policy::ServiceTime;
    for p in &mut s.paths {
        p.relative_throughput = 1;
    }
    let r = run(&s);
    (pct(&s, &r), stddev(&r))
}

/// Guixin Liu's setup: 4:1 bandwidth (published: latency stddev 3046 µs
/// with queue-depth, 1294 µs with service-time weighted 4:1). Queue-depth,
/// service-time and adaptive all fill the fabric; service-time with the
/// links' 4:1 weights keeps outstanding bytes in the links' ratio, so both
/// paths answer in the same time and the spread collapses; adaptive
/// narrows it to under half.
#[test]
fn bandwidth_4to1_selectors_against_the_ideal() {
    let get = |pol| {
        let (s, r) = with_policy("bandwidth-4to1", pol);
        (pct(&s, &r), stddev(&r), r)
    };
    let (rr, _, _) = get(Policy::RoundRobin);
    let (qd, qd_sd, _) = get(Policy::QueueDepth);
    let (st, st_sd, _) = get(Policy::ServiceTime);
    let (ad, ad_sd, _) = get(Policy::Adaptive);
    for (name, p) in [("queue-depth", qd), ("service-time", st), ("adaptive", ad)] {
        assert!((99.0..=100.5).contains(&p), "{name} {p:.1} %");
    }
    // Round-robin sends half the I/O to the quarter-speed link.
    assert!((35.0..45.0).contains(&rr), "round-robin {rr:.1} %");
    assert!(
        ad_sd < 0.6 * qd_sd,
        "adaptive stddev {ad_sd:.0} vs queue-depth {qd_sd:.0}"
    );
    // Issue 12's goal: service-time at >= 95 % of ideal with a lower
    // spread than queue-depth. Met: 100 %, 35 µs against 787 µs.
    assert!(
        st_sd < 0.2 * qd_sd,
        "service-time stddev {st_sd:.0} vs queue-depth {qd_sd:.0}"
    );
    // Without the weights, queue-depth's placement and spread.
    let (u, u_sd) = unweighted_service_time("bandwidth-4to1");
    assert!((99.0..=100.5).contains(&u), "unweighted {u:.1} %");
    assert!(
        (u_sd - qd_sd).abs() < 0.02 * qd_sd,
        "unweighted {u_sd:.0} vs {qd_sd:.0}"
    );
}

/// Issue 14: the counting selectors work from per-CPU parts of the load,
/// published in batches (`mpath_core::load`). With the workload spread
/// over 4 and 16 CPUs, each with its own cursor on the data plane's fast
/// path, the two published setups give what one CPU (an exact view) gives:
/// service-time and adaptive the same throughput and p99; queue-depth and
/// queue-bytes within 4 points of the ideal and 10 % of p99 (each CPU's
/// view misses what the other CPUs hold back, fewer than `PUBLISH_IOS`
/// I/Os per path each).
#[test]
fn selection_quality_holds_across_cpus() {
    for name in ["delayed-path", "bandwidth-4to1"] {
        for pol in [
            Policy::QueueDepth,
            Policy::QueueBytes,
            Policy::ServiceTime,
            Policy::Adaptive,
        ] {
            let at = |cpus: u32| {
                let mut s = builtin(name);
                s.policy = pol;
                s.workload.cpus = cpus;
                let r = run(&s);
                (pct(&s, &r), r.latency_us.value_at_quantile(0.99) as f64)
            };
            let (one, one_p99) = at(1);
            for cpus in [4, 16] {
                let (p, p99) = at(cpus);
                let exact = matches!(pol, Policy::ServiceTime | Policy::Adaptive);
                let (points, ratio) = if exact { (0.5, 1.02) } else { (4.0, 1.10) };
                assert!(
                    p >= one - points && p <= 100.5,
                    "{name} {pol} on {cpus} CPUs: {p:.1} % of ideal, {one:.1} % on one"
                );
                assert!(
                    p99 <= ratio * one_p99,
                    "{name} {pol} on {cpus} CPUs: p99 {p99} µs, {one_p99} µs on one"
                );
            }
        }
    }
}

// ----- faults -----

/// A zombie path (TEST UNIT READY passes, I/O fails) from 300 ms: the
/// failed attempts go to the other path, none fails upward, and once the
/// path heals at 800 ms throughput is back within 5 % of what it was
/// before the fault, within 100 ms.
#[test]
fn zombie_path_fails_nothing_upward_and_recovers() {
    let s = builtin("zombie-path");
    let r = run(&s);
    assert_eq!(r.failed, 0);
    assert!(
        r.paths[1].failed > 0,
        "the zombie failed nothing: {:?}",
        r.paths
    );
    let before = rate(&r, None, 50, 300);
    let after = rate(&r, None, 900, 1000);
    assert!(
        after >= 0.95 * before,
        "throughput {after:.0}/s after heal vs {before:.0}/s before"
    );
    // Both paths carry I/O again.
    assert!(rate(&r, Some(1), 900, 1000) > 0.3 * after);
    // While it is a zombie, the other path carries most of the I/O.
    assert!(rate(&r, Some(0), 400, 800) > 0.9 * rate(&r, None, 400, 800));
}

/// A link dropping every 100 ms: nothing fails upward, and after each
/// link-down I/O completes again within the detection time plus 1 ms.
#[test]
fn flapping_path_fails_nothing_upward() {
    let s = builtin("flapping-path");
    let r = run(&s);
    assert_eq!(r.failed, 0);
    assert!(r.paths[0].failed > 0);
    resumes_in_time(&s, &r);
    // Between flaps the path is used again.
    assert!(rate(&r, Some(0), 260, 300) > 0.0);
}

/// Group 1 goes transitioning then standby as group 2 becomes
/// active/optimized: nothing fails upward, I/O moves to group 2.
#[test]
fn alua_transition_moves_io_to_the_new_optimized_group() {
    let s = builtin("alua-transition");
    let r = run(&s);
    assert_eq!(r.failed, 0);
    resumes_in_time(&s, &r);
    // Before: the optimized group (paths 0, 1) only.
    assert_eq!(rate(&r, Some(2), 50, 300) + rate(&r, Some(3), 50, 300), 0.0);
    // During the transition the non-optimized group carries it.
    assert!(rate(&r, Some(2), 320, 500) > 0.0);
    assert_eq!(rate(&r, Some(0), 320, 500), 0.0);
    // After: group 2 only; group 1 is standby.
    assert_eq!(
        rate(&r, Some(0), 550, 1000) + rate(&r, Some(1), 550, 1000),
        0.0
    );
    assert!(rate(&r, None, 550, 1000) >= 0.95 * rate(&r, None, 50, 300));
}

/// ANA change past ANATT (1 s): the host resets the controller, I/O runs
/// on the non-optimized group meanwhile, nothing fails upward.
/// The group is optimized again at 1.5 s and path 0 carries I/O again
/// at once: the ANA change notice cuts short the retry wait of the
/// access-state read the reset had aborted (the host used to sit out
/// that wait, a second, past the end of the workload).
#[test]
fn ana_change_past_anatt_resets_the_controller() {
    let s = builtin("ana-change");
    let r = run(&s);
    assert_eq!(r.failed, 0);
    assert!(r.resets >= 1, "no reset after ANATT");
    assert_eq!(rate(&r, Some(0), 250, 1500), 0.0);
    assert!(rate(&r, Some(1), 250, 1500) > 0.0);
    resumes_in_time(&s, &r);
    assert!(rate(&r, Some(0), 1510, 2000) > 0.0, "path 0 is back");
}

/// Both links down from 200 to 700 ms, under each no-path policy.
#[test]
fn all_paths_down_under_each_no_path_policy() {
    let base = builtin("all-paths-down");
    // Queue (and the built-in's queue for 5 s): queued I/O completes when
    // a path returns, nothing fails, nothing completes while down.
    for np in [NoPathPolicy::Queue, base.no_path] {
        let mut s = base.clone();
        s.no_path = np;
        let r = run(&s);
        assert_eq!(r.failed, 0, "{np:?}");
        assert_eq!(rate(&r, None, 210, 700), 0.0, "{np:?}");
        assert!(
            rate(&r, None, 750, 1000) > 0.9 * rate(&r, None, 50, 200),
            "{np:?}"
        );
        // The held I/O waited out the outage.
        assert!(
            r.latency(100.0) >= 490_000,
            "{np:?}: max {} µs",
            r.latency(100.0)
        );
        // No path is left by the link-downs; when the links return, I/O
        // resumes within the detection time plus 1 ms.
        resumes_in_time_after(&s, &r, |f| matches!(f, Fault::LinkUp { .. }));
    }
    // Fail: I/O fails upward once the transport has noticed (5 ms), and
    // I/O goes on failing until a path returns.
    let mut s = base.clone();
    s.no_path = NoPathPolicy::Fail;
    let r = run(&s);
    assert!(r.failed > 0);
    assert_eq!(failed_in(&r, 0, 200), 0);
    assert!(failed_in(&r, 200, 210) > 0, "nothing failed at once");
    assert!(rate(&r, None, 750, 1000) > 0.0);
    // Queue for 100 ms: held, then failed on time (100 ms after the last
    // path went, plus the 5 ms the transport takes to notice).
    let mut s = base.clone();
    s.no_path = NoPathPolicy::QueueFor(Duration::from_millis(100));
    let r = run(&s);
    assert!(r.failed > 0);
    assert_eq!(failed_in(&r, 0, 300), 0, "failed before the 100 ms were up");
    assert!(failed_in(&r, 300, 310) > 0, "not failed on time");
    assert!(rate(&r, None, 750, 1000) > 0.0);
}

/// The path holding a Write Exclusive reservation dies: the coordinator
/// moves the reservation to path 1, writes go on through it, no I/O
/// fails upward and no conflict of our own appears (the engine checks
/// no-own-conflict).
#[test]
fn holder_path_dies_and_the_reservation_moves() {
    let s = builtin("holder-path-dies");
    let mut sim = Sim::new(s.clone(), 1).unwrap();
    assert!(sim.run_until(Some(Instant::from_nanos(250_000_000))));
    let c = sim.device().coordinator();
    assert_eq!(
        c.holder(),
        sim.path_id(0),
        "not held through path 0 at first"
    );
    assert!(sim.run_until(Some(Instant::from_nanos(500_000_000))));
    let c = sim.device().coordinator();
    assert_eq!(c.holder(), sim.path_id(1), "the reservation did not move");
    assert!(!c.is_fenced());
    while sim.run_until(None) {}
    let r = sim.finish();
    assert_eq!(r.violation, None);
    assert_eq!(r.failed, 0);
    // Writes (70 % of the workload) only go through the holder, reads
    // through both: path 1 carries the writes now, at more than twice its
    // old rate and 70 % of the old total.
    let (old_total, old_1) = (rate(&r, None, 50, 300), rate(&r, Some(1), 50, 300));
    let new_1 = rate(&r, Some(1), 400, 1000);
    assert!(
        new_1 > 2.0 * old_1 && new_1 > 0.7 * old_total,
        "{new_1:.0} {old_1:.0} {old_total:.0}"
    );
    resumes_in_time(&s, &r);
}

/// Another node preempts our key at 300 ms: we are fenced, I/O fails
/// upward from then on, and no write lands (the engine checks
/// fenced-writes-nothing on every write the target applies). Reads fail
/// too: the core fails every I/O of a fenced device, although Write
/// Exclusive would let reads through.
#[test]
fn preempted_is_fenced_and_writes_nothing() {
    let s = builtin("preempted");
    let mut sim = Sim::new(s.clone(), 1).unwrap();
    assert!(sim.run_until(Some(Instant::from_nanos(299_000_000))));
    assert!(!sim.device().coordinator().is_fenced());
    assert!(sim.run_until(Some(Instant::from_nanos(310_000_000))));
    assert!(sim.device().coordinator().is_fenced());
    while sim.run_until(None) {}
    let r = sim.finish();
    assert_eq!(r.violation, None);
    assert_eq!(failed_in(&r, 0, 300), 0);
    assert!(
        failed_in(&r, 300, 1000) > 0,
        "writes did not fail after the fence"
    );
    assert_eq!(rate(&r, None, 400, 1000), 0.0);
}

/// Writes stranded on a dead link land 40 ms later: write quiesce (100
/// ms) keeps their retries back until then, so no stale write lands.
/// Without quiesce the same scenario breaks no-stale-write, so the check
/// is live.
#[test]
fn late_write_lands_no_stale_write() {
    let s = builtin("late-write");
    let r = run(&s);
    assert_eq!(r.failed, 0);
    resumes_in_time(&s, &r);
    let mut bare = s.clone();
    bare.quiesce = Duration::from_nanos(0);
    let r = Sim::new(bare, 1).unwrap().run();
    assert_eq!(
        r.violation.map(|v| v.invariant),
        Some(Invariant::NoStaleWrite),
        "without quiesce the late writes should have been caught"
    );
}
