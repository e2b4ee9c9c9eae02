//! The counting selectors' load accounting across CPUs (`src/load.rs`):
//! several cursors start I/Os, end them on any cursor (as completions
//! arrive on another CPU than the submitter's), fail some through the
//! controller, park, and switch policy, in any order. After every step:
//!
//! - published + every cursor's unpublished part = the true outstanding
//!   I/Os and bytes of every slot, exactly;
//! - no cursor holds back `PUBLISH_IOS` I/Os or `PUBLISH_BYTES` bytes;
//! - each cursor's view (what its selection compares) is the truth minus
//!   the other cursors' parts, so it is off by at most
//!   `(cursors - 1) * (PUBLISH_IOS - 1)` I/Os: the stated staleness bound;
//! - a snapshot given every cursor reports the truth.

use mpath_core::load::{PUBLISH_BYTES, PUBLISH_IOS};
use mpath_core::*;
use proptest::prelude::*;

const PATHS: usize = 4;
const CPUS: usize = 3;

type Ctl<'a> = Controller<&'a DataPlane<PATHS>, PATHS, 256, 4>;

#[derive(Clone, Debug)]
enum Op {
    Submit {
        cpu: usize,
        kib: u32,
    },
    Complete {
        pick: usize,
        cpu: usize,
    },
    Fail {
        pick: usize,
    },
    Park {
        cpu: usize,
    },
    Policy {
        pick: usize,
    },
    /// Time passes: a few µs (CPUs stay busy) or past `PUBLISH_IDLE`.
    Advance {
        us: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..CPUS, prop_oneof![Just(4u32), Just(16), Just(64), Just(1024), 1u32..200])
            .prop_map(|(cpu, kib)| Op::Submit { cpu, kib }),
        5 => (any::<usize>(), 0..CPUS).prop_map(|(pick, cpu)| Op::Complete { pick, cpu }),
        1 => any::<usize>().prop_map(|pick| Op::Fail { pick }),
        1 => (0..CPUS).prop_map(|cpu| Op::Park { cpu }),
        1 => any::<usize>().prop_map(|pick| Op::Policy { pick }),
        3 => prop_oneof![Just(1u64), Just(5), Just(10), Just(50)].prop_map(|us| Op::Advance { us }),
    ]
}

const COUNTING: [Policy; 4] = [
    Policy::QueueDepth,
    Policy::QueueBytes,
    Policy::ServiceTime,
    Policy::Adaptive,
];

/// What a start under `policy` counts: (I/Os, bytes).
fn counts(policy: Policy) -> (bool, bool) {
    match policy {
        Policy::QueueDepth | Policy::Adaptive => (true, false),
        Policy::QueueBytes | Policy::ServiceTime => (false, true),
        _ => (false, false),
    }
}

struct Live {
    ticket: Ticket,
    ios: bool,
    bytes: bool,
}

fn run(ops: Vec<Op>) {
    let dp: DataPlane<PATHS> = DataPlane::new();
    let mut cfg = Config::DEFAULT;
    cfg.policy = Policy::QueueDepth;
    let mut ctl: Ctl<'_> = Controller::new(&dp, cfg).unwrap();
    let mut t0 = Instant::from_nanos(1);
    let ids: Vec<PathId> = (0..PATHS as u32)
        .map(|n| {
            ctl.add_path(PathSpec::new(GroupId(1), NexusId(n)), t0)
                .unwrap()
        })
        .collect();
    let mut cpus: Vec<Cursor<PATHS>> = (0..CPUS).map(|_| Cursor::new(Locality(0))).collect();
    let mut live: Vec<Live> = Vec::new();
    let mut policy = Policy::QueueDepth;
    let mut tag = 0u64;
    for op in ops {
        match op {
            Op::Submit { cpu, kib } => {
                tag += 1;
                let io = Io::read(tag, kib * 1024, 0);
                if let Ok(ticket) = dp.submit(&mut cpus[cpu], io, t0) {
                    let (ios, bytes) = counts(policy);
                    live.push(Live { ticket, ios, bytes });
                }
            }
            Op::Complete { pick, cpu } if !live.is_empty() => {
                let l = live.swap_remove(pick % live.len());
                dp.complete(&mut cpus[cpu], l.ticket, t0).unwrap();
            }
            Op::Fail { pick } if !live.is_empty() => {
                // A target error ends the I/O in the controller's cursor.
                let l = live.swap_remove(pick % live.len());
                let done = ctl
                    .handle_completion(
                        l.ticket,
                        Outcome::TargetError(TargetError::Medium).into(),
                        t0,
                    )
                    .unwrap();
                assert!(matches!(done, Disposition::Done { .. }), "{done:?}");
            }
            Op::Park { cpu } => {
                dp.park(&mut cpus[cpu]);
                for slot in 0..PATHS {
                    assert_eq!(cpus[cpu].unpublished(slot), (0, 0));
                }
            }
            Op::Policy { pick } => {
                policy = COUNTING[pick % COUNTING.len()];
                ctl.set_policy(policy, SelectorParams::DEFAULT, t0).unwrap();
            }
            Op::Advance { us } => t0 = t0 + Duration::from_micros(us),
            _ => {}
        }
        check(&dp, &ctl, &cpus, &live, &ids);
    }
    // Every I/O ends, every CPU parks: the published counts are exact.
    for l in live.drain(..) {
        dp.complete(&mut cpus[0], l.ticket, t0).unwrap();
    }
    for c in &mut cpus {
        dp.park(c);
    }
    for slot in 0..PATHS {
        assert_eq!(
            dp.published_load(slot),
            ctl.cursor().unpublished(slot).map_neg(),
            "slot {slot}: published + the controller's part = 0"
        );
    }
    // The published counts as `inflight` reads them: never below zero.
    for slot in 0..PATHS {
        let (ios, bytes) = dp.published_load(slot);
        assert_eq!(i64::from(dp.inflight(slot)), i64::from(ios).max(0));
        assert_eq!(dp.inflight_bytes(slot) as i64, bytes.max(0));
    }
}

trait Neg {
    fn map_neg(self) -> Self;
}
impl Neg for (i32, i64) {
    fn map_neg(self) -> Self {
        (-self.0, -self.1)
    }
}

fn check(
    dp: &DataPlane<PATHS>,
    ctl: &Ctl<'_>,
    cpus: &[Cursor<PATHS>],
    live: &[Live],
    ids: &[PathId],
) {
    let all: Vec<&Cursor<PATHS>> = cpus.iter().chain([ctl.cursor()]).collect();
    for (slot, &id) in ids.iter().enumerate() {
        let truth_ios = live
            .iter()
            .filter(|l| l.ios && l.ticket.path().slot() == slot)
            .count() as i64;
        let truth_bytes: i64 = live
            .iter()
            .filter(|l| l.bytes && l.ticket.path().slot() == slot)
            .map(|l| i64::from(l.ticket.io().bytes))
            .sum();
        let (pi, pb) = dp.published_load(slot);
        let parts: Vec<(i32, i64)> = all.iter().map(|c| c.unpublished(slot)).collect();
        let sum_ios = i64::from(pi) + parts.iter().map(|p| i64::from(p.0)).sum::<i64>();
        let sum_bytes = pb + parts.iter().map(|p| p.1).sum::<i64>();
        assert_eq!(
            (sum_ios, sum_bytes),
            (truth_ios, truth_bytes),
            "slot {slot}"
        );
        for &(ios, bytes) in &parts {
            assert!(ios.unsigned_abs() < PUBLISH_IOS, "held back {ios} I/Os");
            assert!(
                bytes.unsigned_abs() < PUBLISH_BYTES,
                "held back {bytes} bytes"
            );
        }
        for (k, c) in all.iter().enumerate() {
            let others_ios: i64 = parts
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != k)
                .map(|(_, p)| i64::from(p.0))
                .sum();
            let others_bytes: i64 = parts
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != k)
                .map(|(_, p)| p.1)
                .sum();
            let (vi, vb) = dp.load_seen_by(c, slot);
            assert_eq!(
                vi as i64,
                (truth_ios - others_ios).max(0),
                "cpu {k} slot {slot}"
            );
            assert_eq!(vb as i64, (truth_bytes - others_bytes).max(0));
            let bound = (all.len() as i64 - 1) * (i64::from(PUBLISH_IOS) - 1);
            assert!((vi as i64 - truth_ios).abs() <= bound, "staleness bound");
        }
        let snap = ctl.path_snapshot(id, &all[..CPUS]).unwrap();
        assert_eq!(
            (i64::from(snap.inflight), snap.inflight_bytes as i64),
            (truth_ios, truth_bytes),
            "a snapshot given every cursor is exact"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn sums_are_exact_and_views_within_the_bound(ops in prop::collection::vec(op(), 1..200)) {
        run(ops);
    }
}

/// One CPU submits a burst, another completes it: the submitter publishes
/// every `PUBLISH_IOS` starts, the completer every `PUBLISH_IOS` ends, and
/// a third CPU's queue-depth selection sees the burst within the bound.
#[test]
fn a_burst_is_seen_by_other_cpus_within_the_bound() {
    let dp: DataPlane<PATHS> = DataPlane::new();
    let mut cfg = Config::DEFAULT;
    cfg.policy = Policy::QueueDepth;
    let mut ctl: Ctl<'_> = Controller::new(&dp, cfg).unwrap();
    let t0 = Instant::from_nanos(1);
    let a = ctl
        .add_path(PathSpec::new(GroupId(1), NexusId(1)), t0)
        .unwrap();
    let b = ctl
        .add_path(PathSpec::new(GroupId(1), NexusId(2)), t0)
        .unwrap();
    let (mut submitter, mut completer, mut other) = (
        Cursor::<PATHS>::new(Locality(0)),
        Cursor::new(Locality(0)),
        Cursor::new(Locality(0)),
    );
    // Ten I/Os on path a, started with a fixed choice (as a held I/O's
    // dispatch would be).
    let mut tickets = Vec::new();
    for k in 0..10u64 {
        let t = dp
            .start(&mut submitter, a, Io::read(k, 4096, 0), t0)
            .unwrap();
        tickets.push(t);
        let published = dp.inflight(a.slot());
        assert_eq!(u64::from(published), (k + 1) / 4 * 4, "every fourth start");
    }
    // The other CPU sees 8 on a, 0 on b: b is chosen.
    assert_eq!(dp.load_seen_by(&other, a.slot()), (8, 0));
    let picked = dp.select(&mut other, &Io::read(99, 4096, 0), t0).unwrap();
    assert_eq!(picked, b);
    for (k, t) in tickets.into_iter().enumerate() {
        dp.complete(&mut completer, t, t0).unwrap();
        let k = k as i32 + 1;
        assert_eq!(completer.unpublished(a.slot()).0, -(k % 4));
    }
    // 8 starts and 8 ends published; 2 of each held back.
    assert_eq!(dp.published_load(a.slot()), (0, 0));
    assert_eq!(dp.load_seen_by(&submitter, a.slot()), (2, 0));
    assert_eq!(
        dp.load_seen_by(&completer, a.slot()),
        (0, 0),
        "-2 reads as 0"
    );
    dp.park(&mut submitter);
    assert_eq!(dp.published_load(a.slot()), (2, 0));
    dp.park(&mut completer);
    assert_eq!(dp.published_load(a.slot()), (0, 0));
}
