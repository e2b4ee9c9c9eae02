//! Property test: random sequences of path events, access changes, probe
//! results, I/O with every outcome, manual commands and time advances.
//! After every step the invariants of the I/O lifecycle and of selection
//! are checked against a model of what the caller holds.

use mpath_core::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

type Dev = Multipath<8, 8, 4>;

#[derive(Clone, Debug)]
enum Op {
    Submit {
        write: bool,
        bytes: u32,
        retries: u8,
    },
    Complete {
        pick: usize,
        outcome: u8,
    },
    AddPath {
        group: u8,
        access: u8,
    },
    RemovePath {
        pick: usize,
    },
    MoveGroup {
        pick: usize,
        group: u8,
        access: Option<u8>,
    },
    FailPath {
        pick: usize,
    },
    ReinstatePath {
        pick: usize,
    },
    Probe {
        pick: usize,
        result: u8,
    },
    Access {
        group: u8,
        access: u8,
        preferred: bool,
    },
    Marginal {
        pick: usize,
        set: bool,
    },
    SwitchGroup {
        group: Option<u8>,
    },
    NoPath {
        policy: u8,
    },
    Policy {
        policy: u8,
    },
    AnswerRefresh {
        ok: bool,
    },
    AnswerActivation {
        result: u8,
    },
    Advance {
        ms: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (any::<bool>(), 1u32..65536, 0u8..3)
            .prop_map(|(write, bytes, retries)| Op::Submit { write, bytes, retries }),
        6 => (any::<usize>(), 0u8..12).prop_map(|(pick, outcome)| Op::Complete { pick, outcome }),
        2 => (0u8..4, 0u8..10).prop_map(|(group, access)| Op::AddPath { group, access }),
        1 => any::<usize>().prop_map(|pick| Op::RemovePath { pick }),
        1 => (any::<usize>(), 0u8..6, proptest::option::of(0u8..10))
            .prop_map(|(pick, group, access)| Op::MoveGroup { pick, group, access }),
        1 => any::<usize>().prop_map(|pick| Op::FailPath { pick }),
        1 => any::<usize>().prop_map(|pick| Op::ReinstatePath { pick }),
        3 => (any::<usize>(), 0u8..5).prop_map(|(pick, result)| Op::Probe { pick, result }),
        2 => (0u8..4, 0u8..10, any::<bool>())
            .prop_map(|(group, access, preferred)| Op::Access { group, access, preferred }),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(pick, set)| Op::Marginal { pick, set }),
        1 => proptest::option::of(0u8..4).prop_map(|group| Op::SwitchGroup { group }),
        1 => (0u8..3).prop_map(|policy| Op::NoPath { policy }),
        1 => (0u8..6).prop_map(|policy| Op::Policy { policy }),
        1 => any::<bool>().prop_map(|ok| Op::AnswerRefresh { ok }),
        1 => (0u8..3).prop_map(|result| Op::AnswerActivation { result }),
        3 => (0u64..20_000).prop_map(|ms| Op::Advance { ms }),
    ]
}

const STATES: [AccessState; 10] = [
    AccessState::Optimized,
    AccessState::NonOptimized,
    AccessState::Standby,
    AccessState::Unavailable,
    AccessState::LbaDependent,
    AccessState::Offline,
    AccessState::Transitioning,
    AccessState::Inaccessible,
    AccessState::PersistentLoss,
    AccessState::Change,
];

fn outcome(n: u8) -> Outcome {
    match n {
        0..=3 => Outcome::Success,
        4 => Outcome::PathError(PathErrorKind::Transport),
        5 => Outcome::PathError(PathErrorKind::Timeout),
        6 => Outcome::PathError(PathErrorKind::AccessDenied),
        7 => Outcome::PathError(PathErrorKind::Transitioning),
        8 => Outcome::TargetError(TargetError::Medium),
        9 => Outcome::ReservationConflict,
        10 => Outcome::Retry {
            reason: RetryReason::Busy,
            delay: Duration::ZERO,
        },
        _ => Outcome::Retry {
            reason: RetryReason::Transient,
            delay: Duration::from_millis(50),
        },
    }
}

/// What the caller holds, and what has ended.
struct Model {
    d: Dev,
    now: Instant,
    next_tag: u64,
    in_flight: Vec<Ticket>,
    /// Tags the controller holds (submitted, not ended, not in flight).
    held: BTreeSet<u64>,
    ended: BTreeMap<u64, &'static str>,
    refreshes: Vec<PathId>,
    activation: Option<GroupId>,
    nexus: u32,
    switched: bool,
}

impl Model {
    fn new() -> Self {
        let mut cfg = Config::DEFAULT;
        cfg.access.explicit_activation = true;
        cfg.no_path = NoPathPolicy::QueueFor(Duration::from_secs(30));
        cfg.flap.threshold = 4;
        cfg.marginal.sample_time = Duration::from_secs(5);
        cfg.marginal.min_samples = 2;
        Model {
            d: Multipath::new(cfg).unwrap(),
            now: Instant::from_nanos(0),
            next_tag: 0,
            in_flight: Vec::new(),
            held: BTreeSet::new(),
            ended: BTreeMap::new(),
            refreshes: Vec::new(),
            activation: None,
            nexus: 0,
            switched: false,
        }
    }

    fn paths(&self) -> Vec<PathId> {
        self.d.controller().path_ids().collect()
    }

    fn pick(&self, i: usize) -> Option<PathId> {
        let p = self.paths();
        if p.is_empty() {
            None
        } else {
            Some(p[i % p.len()])
        }
    }

    fn end(&mut self, tag: u64, how: &'static str) {
        self.held.remove(&tag);
        assert!(
            self.ended.insert(tag, how).is_none(),
            "I/O {tag} ended twice ({how})"
        );
    }

    /// A ticket went out: it must be on a selectable path of the best tier.
    fn dispatched(&mut self, t: Ticket) {
        let c = self.d.controller();
        let tier = c.tier(t.path()).expect("dispatched to a present path");
        assert_ne!(tier, Tier::Ineligible, "dispatched to an ineligible path");
        let best = self
            .paths()
            .iter()
            .map(|&p| c.tier(p).unwrap())
            .min()
            .unwrap();
        let pinned = c.config().failback != Failback::Immediate;
        if !self.switched && !pinned {
            assert_eq!(tier, best, "a worse tier while a better one is eligible");
        }
        self.held.remove(&t.io().tag.0);
        self.in_flight.push(t);
    }

    fn disposition(&mut self, tag: u64, d: Disposition) {
        match d {
            Disposition::Done { io, .. } => self.end(io.tag.0, "done"),
            Disposition::Dispatch(t) => self.dispatched(t),
            Disposition::Queued => {
                self.held.insert(tag);
            }
            // Handed back: the caller ends it (resubmission is a new I/O).
            Disposition::Busy(io) => self.end(io.tag.0, "busy"),
            other => panic!("unexpected disposition {other:?}"),
        }
    }

    fn drain(&mut self) {
        while let Some(a) = self.d.controller_mut().poll_action() {
            match a {
                Action::Dispatch(t) => self.dispatched(t),
                Action::Fail { io, .. } => self.end(io.tag.0, "failed"),
                Action::RefreshAccessState { via } => self.refreshes.push(via),
                Action::ActivateGroup { group, .. } => self.activation = Some(group),
                Action::Probe(_)
                | Action::TransitionTimedOut { .. }
                | Action::HeadLive
                | Action::HeadRemoved => {}
                _ => {}
            }
        }
    }

    fn check(&self) {
        let c = self.d.controller();
        assert_eq!(c.queued(), self.held.len(), "held I/O count");
        if let Some(t) = c.poll_timeout() {
            assert!(t >= self.now, "poll_timeout in the past");
        }
        for t in &self.in_flight {
            assert!(!self.ended.contains_key(&t.io().tag.0));
            assert!(!self.held.contains(&t.io().tag.0));
        }
        let submitted = self.next_tag as usize;
        assert_eq!(
            self.in_flight.len() + self.held.len() + self.ended.len(),
            submitted,
            "every I/O is in flight, held or ended"
        );
    }

    fn apply(&mut self, op: Op) {
        let now = self.now;
        // Errors here are legitimate refusals (stale ids, full tables);
        // the invariants must hold either way.
        match op {
            Op::Submit {
                write,
                bytes,
                retries,
            } => {
                let tag = self.next_tag;
                self.next_tag += 1;
                let io = if write {
                    Io::write(tag, bytes, retries)
                } else {
                    Io::read(tag, bytes, retries)
                };
                let d = self.d.submit(io, now).unwrap();
                self.disposition(tag, d);
            }
            Op::Complete { pick, outcome: o } => {
                if !self.in_flight.is_empty() {
                    let t = self.in_flight.swap_remove(pick % self.in_flight.len());
                    let tag = t.io().tag.0;
                    let d = self.d.complete(t, outcome(o).into(), now).unwrap();
                    self.disposition(tag, d);
                }
            }
            Op::AddPath { group, access } => {
                self.nexus += 1;
                let spec = PathSpec::new(GroupId(group.into()), NexusId(self.nexus))
                    .with_access(GroupAccess::new(STATES[access as usize]));
                let _ = self.d.controller_mut().add_path(spec, now);
            }
            Op::RemovePath { pick } => {
                if let Some(p) = self.pick(pick) {
                    self.d.controller_mut().remove_path(p, now).unwrap();
                }
            }
            Op::MoveGroup {
                pick,
                group,
                access,
            } => {
                if let Some(p) = self.pick(pick) {
                    let a = access.map(|a| GroupAccess::new(STATES[a as usize]));
                    let r = self.d.controller_mut().move_path_to_group(
                        p,
                        GroupId(group.into()),
                        a,
                        now,
                    );
                    // Six group ids over a four-group table: refusals happen
                    // and must be the table being full, nothing else.
                    assert!(matches!(r, Ok(()) | Err(Error::GroupTableFull)), "{r:?}");
                }
            }
            Op::FailPath { pick } => {
                if let Some(p) = self.pick(pick) {
                    self.d.controller_mut().fail_path(p, now).unwrap();
                }
            }
            Op::ReinstatePath { pick } => {
                if let Some(p) = self.pick(pick) {
                    self.d.controller_mut().reinstate_path(p, now).unwrap();
                }
            }
            Op::Probe { pick, result } => {
                if let Some(p) = self.pick(pick) {
                    let r = [
                        ProbeResult::Up,
                        ProbeResult::Ghost,
                        ProbeResult::Pending,
                        ProbeResult::Down,
                        ProbeResult::Retry,
                    ][result as usize];
                    self.d.controller_mut().handle_probe(p, r, now).unwrap();
                }
            }
            Op::Access {
                group,
                access,
                preferred,
            } => {
                let a = GroupAccess {
                    state: STATES[access as usize],
                    preferred,
                };
                let _ = self
                    .d
                    .controller_mut()
                    .handle_access_state(GroupId(group.into()), a, now);
            }
            Op::Marginal { pick, set } => {
                if let Some(p) = self.pick(pick) {
                    let c = self.d.controller_mut();
                    if set {
                        c.set_marginal(p, now).unwrap();
                    } else {
                        c.clear_marginal(p, now).unwrap();
                    }
                }
            }
            Op::SwitchGroup { group } => {
                let g = group.map(|g| GroupId(g.into()));
                if self.d.controller_mut().switch_group(g, now).is_ok() {
                    self.switched = g.is_some();
                }
            }
            Op::NoPath { policy } => {
                let p = [
                    NoPathPolicy::Fail,
                    NoPathPolicy::Queue,
                    NoPathPolicy::QueueFor(Duration::from_secs(10)),
                ][policy as usize];
                self.d.controller_mut().set_no_path_policy(p, now).unwrap();
            }
            Op::Policy { policy } => {
                self.d
                    .controller_mut()
                    .set_policy(Policy::ALL[policy as usize], SelectorParams::DEFAULT, now)
                    .unwrap();
            }
            Op::AnswerRefresh { ok } => {
                if let Some(via) = self.refreshes.pop() {
                    // The path may have gone; then the answer is refused.
                    let _ = self.d.controller_mut().handle_refresh_result(via, ok, now);
                }
            }
            Op::AnswerActivation { result } => {
                if let Some(g) = self.activation.take() {
                    let r = [
                        ActivationResult::Done,
                        ActivationResult::Retry,
                        ActivationResult::Failed,
                    ][result as usize];
                    let _ = self.d.controller_mut().handle_activation_result(g, r, now);
                }
            }
            Op::Advance { ms } => {
                self.now = Instant::from_nanos(now.as_nanos() + ms * 1_000_000);
                self.d.controller_mut().handle_timeout(self.now).unwrap();
            }
        }
        self.drain();
        self.check();
    }

    /// End everything: complete all in flight, then let the no-path policy
    /// fail what is still held; afterwards every counter must balance.
    fn finish(&mut self) {
        self.d
            .controller_mut()
            .set_no_path_policy(NoPathPolicy::Fail, self.now)
            .unwrap();
        for round in 0..100 {
            while let Some(t) = self.in_flight.pop() {
                let tag = t.io().tag.0;
                let d = self
                    .d
                    .complete(t, Outcome::Success.into(), self.now)
                    .unwrap();
                self.disposition(tag, d);
            }
            self.drain();
            if self.held.is_empty() {
                break;
            }
            // Take every path away: held I/O fails once the head is gone or
            // the no-path deadline passes.
            for p in self.paths() {
                self.d.controller_mut().remove_path(p, self.now).unwrap();
            }
            self.now = Instant::from_nanos(self.now.as_nanos() + 3_600_000_000_000);
            let _ = self.d.controller_mut().handle_timeout(self.now);
            self.drain();
            assert!(round < 99, "held I/O never ended");
        }
        self.check();
        assert!(self.in_flight.is_empty() && self.held.is_empty());
        let dp = self.d.controller().data_plane();
        for slot in 0..8 {
            let seen = dp.load_seen_by(self.d.controller().cursor(), slot);
            assert_eq!(seen, (0, 0), "in-flight count and bytes balance");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn lifecycle_invariants_hold(ops in proptest::collection::vec(op(), 1..120)) {
        let mut m = Model::new();
        for op in ops {
            m.apply(op);
        }
        m.finish();
    }
}
