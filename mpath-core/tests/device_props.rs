//! Property test of the whole [`Device`] (controller and reservation
//! coordinator behind one door) against a model of what it talks to: an
//! SPC-4 persistent-reservation device server keyed by I_T nexus
//! (`common/spc4.rs`) with another host that can register, reserve,
//! release, clear and preempt at any time, and a fabric: which nexuses
//! answer, which hang, each target port group's access state with its PREF
//! bit, and every write the target accepted, on which path, when.
//!
//! Every input is generated (paths, transport link events, nexus
//! replacement, probe results, true or wrong on purpose, access-state
//! changes with and without notices, I/O through the data plane and
//! through `Device::submit`, completions of every outcome, cancels, manual
//! commands, reservation operations, preemptions, time). Every output is
//! driven after every step: `poll_action` until `None` (probes, re-reads,
//! activations and reservation commands answered by the model) and
//! `poll_event` until `None`.
//!
//! After every device call the device's state is compared with a model of
//! what it was told (link, admin, marginal, access, PREF, registration):
//! tiers, the selectable mask and the active tier are computed here, not
//! read back. After every step the invariants below are checked; each
//! panics with its number so a shrunk failure says which one broke:
//!
//! 1. every I/O is in flight, held (`queued()` agrees) or ended exactly
//!    once; admission credits balance; at the end, after healing, all end;
//! 2. dispatches go only to selectable paths of the tier in use (PREF
//!    honoured, switch_group and manual failback allowed for), and never to
//!    a nexus the target does not know registered with our key while a key
//!    is set;
//! 3. a write failed over after a path error never goes out on another
//!    path before the failed path's quiesce time;
//! 4. the no-path policy on time: Fail at once (when no recovery is
//!    expected), QueueFor(d) not before and not after `since + d`, Queue
//!    never;
//! 5. the PREF bit: no I/O to a non-preferred group while a preferred one
//!    of the same tier is usable;
//! 6. path errors spend no retries; other retries spend exactly one;
//! 7. no reservation conflict the other host did not cause (writes and
//!    reads, every reservation type);
//! 8. fenced means nothing goes out until the user registers again, a
//!    preemption notice leads to READ KEYS, and READ KEYS that finds our
//!    key gone fences;
//! 9. `poll_timeout` is strictly in the future after every step, never
//!    later than the earliest held I/O, probe deadline or no-path deadline,
//!    and nothing held is ready while a path is selectable (not stuck);
//! 10. the device keeps its halves in step: the coordinator sees a path up
//!     exactly when the controller does, a reservation is moved off a
//!     holder that died while a live registered path exists, a quiesce
//!     never outlives the commands it waits for, a finished reservation
//!     operation reports what the target holds, and events match state;
//!     at the end, after healing, every path is usable again.
//!
//! A failure is shrunk by proptest, then cut at the failing step and
//! minimized further (ops deleted and picks simplified while the same
//! invariant still breaks); the panic prints the minimal case, one step a
//! line. Picks count from the newest path or I/O, so deleting an earlier
//! op does not change what a later one picks.
//!
//! Environment: `PROPTEST_CASES` overrides the number of cases and
//! `PROPTEST_RNG_SEED` the fixed seed CI uses (a number, or `random`);
//! `DEVICE_PROPS_TRACE=1` prints every step and action;
//! `DEVICE_PROPS_STATS=1` prints how often each guarded thing happened.
//! `known_bug_*` replay the minimal case of every bug it found, all fixed,
//! as regression tests. (While one was open, the generator left its
//! inputs out and its replay checked that it still broke its invariant:
//! see the history of this file for that machinery.)

mod common;

use common::spc4::Target;
use mpath_core::reservation::*;
use mpath_core::*;
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

type Dev = Device<DataPlane<8>, 8, 16, 4>;
/// The requeue depth, which is also the admission budget.
const Q: usize = 16;
const OURS: u64 = 0xA1;
const OURS2: u64 = 0xA2;
const OTHER: u64 = 0xB2;
/// The other host's own I_T nexus.
const OTHER_NEXUS: u32 = 9000;
/// A TransportID naming the other host's initiator port, for REGISTER AND
/// MOVE; the model knows it as [`OTHER_NEXUS`] (`Target::move_dest`).
const OTHER_TID: &[u8] = b"\x45\x00\x00\x14iqn.x:other,i,0x1\0\0\0";
const GROUPS: [u32; 3] = [1, 2, 3];
/// About 30 s in a debug build on the 2-vCPU test machine.
const DEFAULT_CASES: u32 = 2000;
const PR_NOTICES: Notices = Notices::RESERVATIONS_PREEMPTED
    .union(Notices::RESERVATIONS_RELEASED)
    .union(Notices::REGISTRATIONS_PREEMPTED);

// ----- generated inputs -----

/// How a case's device is configured and what it starts with.
#[derive(Clone, Debug)]
struct Setup {
    no_path: NoPathPolicy,
    failback: Failback,
    quiesce: Duration,
    explicit_activation: bool,
    flap_damping: bool,
    policy: Policy,
    /// Each target port group's access state and PREF bit.
    groups: [(AccessState, bool); 3],
    /// The groups of the paths present at the start.
    paths: Vec<u8>,
    /// Register our key before the first step.
    register: bool,
    /// The target answers the coordinator's key checks as READ FULL
    /// STATUS read by a host that knows its nexuses (`PrReply::Keys::here`).
    full_status: bool,
}

/// What the other host does to the target.
#[derive(Clone, Copy, Debug)]
enum OtherAct {
    Register,
    Reserve(PrType),
    /// Preempt our key (and our reservation), holding this type after.
    Preempt(PrType),
    Release,
    Clear,
    Unregister,
}

#[derive(Clone, Debug)]
enum Op {
    AddPath {
        group: u8,
        with_access: bool,
    },
    RemovePath {
        pick: u8,
    },
    /// The fabric loses the path: it fails fast (`hang: false`) or stops
    /// answering; `tell` reports `LinkEvent::Down`.
    Cut {
        pick: u8,
        hang: bool,
        tell: bool,
    },
    /// The fabric has the path again; `tell` reports `LinkEvent::Up`.
    Heal {
        pick: u8,
        tell: bool,
    },
    /// A new I_T nexus (new session) under the path.
    NexusReplaced {
        pick: u8,
    },
    /// An unsolicited probe result: the fabric's truth, or this one.
    Probe {
        pick: u8,
        lie: Option<ProbeResult>,
    },
    /// The path's next probe answer is this, whatever the fabric says.
    Lie {
        pick: u8,
        result: ProbeResult,
    },
    /// The target changes a group's access state; `notify`: 0 silently,
    /// 1 an asynchronous notice on a path, 2 a unit attention on the next
    /// command of every nexus.
    TargetAccess {
        group: u8,
        state: AccessState,
        pref: bool,
        notify: u8,
    },
    /// Asynchronous notices on a path.
    Notice {
        pick: u8,
        notices: Notices,
    },
    Submit {
        write: bool,
        retries: u8,
        fast: bool,
    },
    /// Complete an I/O in flight; the fabric overrides `outcome` when the
    /// path is down, the group denies access or the target conflicts.
    Complete {
        pick: u8,
        outcome: Outcome,
        fast: bool,
    },
    /// Cancel a held I/O (`any`: any tag, held or not).
    Cancel {
        pick: u8,
        any: bool,
    },
    Failback,
    FailPath {
        pick: u8,
    },
    ReinstatePath {
        pick: u8,
    },
    SetMarginal {
        pick: u8,
    },
    ClearMarginal {
        pick: u8,
    },
    SwitchGroup {
        group: Option<u8>,
    },
    Reservation(PrOp),
    /// The other host acts; `ua` says which of our nexuses (bit per slot)
    /// get a unit attention for it on their next command.
    Other {
        act: OtherAct,
        ua: u8,
    },
    /// The submitting CPU goes idle and returns its admission credits.
    Idle,
    Advance {
        ms: u16,
    },
    AdvanceLarge {
        secs: u16,
    },
    /// Jump to `poll_timeout()`.
    ToTimeout,
}

fn access_state() -> impl Strategy<Value = AccessState> {
    prop_oneof![
        10 => Just(AccessState::Optimized),
        4 => Just(AccessState::NonOptimized),
        2 => Just(AccessState::Standby),
        1 => Just(AccessState::Unavailable),
        1 => Just(AccessState::LbaDependent),
        1 => Just(AccessState::Offline),
        1 => Just(AccessState::Transitioning),
        1 => Just(AccessState::Inaccessible),
        1 => Just(AccessState::Change),
    ]
}

/// Reservation types for our own operations: all six.
fn own_pr_type() -> impl Strategy<Value = PrType> {
    pr_type()
}

fn pr_type() -> impl Strategy<Value = PrType> {
    prop_oneof![
        Just(PrType::WriteExclusive),
        Just(PrType::ExclusiveAccess),
        Just(PrType::WriteExclusiveRegistrantsOnly),
        Just(PrType::ExclusiveAccessRegistrantsOnly),
        Just(PrType::WriteExclusiveAllRegistrants),
        Just(PrType::ExclusiveAccessAllRegistrants),
    ]
}

fn probe_result() -> impl Strategy<Value = ProbeResult> {
    prop_oneof![
        Just(ProbeResult::Up),
        Just(ProbeResult::Ghost),
        Just(ProbeResult::Pending),
        Just(ProbeResult::Down),
        Just(ProbeResult::Retry),
    ]
}

fn outcome() -> impl Strategy<Value = Outcome> {
    prop_oneof![
        12 => Just(Outcome::Success),
        2 => Just(Outcome::PathError(PathErrorKind::Transport)),
        2 => Just(Outcome::PathError(PathErrorKind::Timeout)),
        1 => Just(Outcome::PathError(PathErrorKind::AccessDenied)),
        1 => Just(Outcome::PathError(PathErrorKind::Transitioning)),
        1 => Just(Outcome::PathError(PathErrorKind::PathingError)),
        1 => Just(Outcome::PathError(PathErrorKind::Aborted)),
        1 => Just(Outcome::TargetError(TargetError::Medium)),
        1 => Just(Outcome::ReservationConflict),
        1 => Just(Outcome::Retry { reason: RetryReason::Busy, delay: Duration::ZERO }),
        1 => Just(Outcome::Retry {
            reason: RetryReason::Transient,
            delay: Duration::from_millis(50),
        }),
        1 => Just(Outcome::Retry { reason: RetryReason::UnitAttention, delay: Duration::ZERO }),
    ]
}

fn notices() -> impl Strategy<Value = Notices> {
    prop_oneof![
        3 => Just(Notices::ACCESS_STATE_CHANGED),
        1 => Just(Notices::RESET_OCCURRED),
        1 => Just(Notices::LUNS_CHANGED),
        1 => Just(Notices::PATH_MARGINAL),
        1 => Just(Notices::REGISTRATIONS_PREEMPTED),
        1 => Just(Notices::RESERVATIONS_RELEASED),
    ]
}

fn pr_op() -> impl Strategy<Value = PrOp> {
    prop_oneof![
        4 => Just(PrOp::Register(OURS)),
        1 => Just(PrOp::Register(OURS2)),
        1 => Just(PrOp::Unregister),
        4 => own_pr_type().prop_map(PrOp::Reserve),
        2 => Just(PrOp::Release),
        1 => (own_pr_type(), any::<bool>())
            .prop_map(|(rtype, abort)| PrOp::Preempt { victim: OTHER, rtype, abort }),
        1 => own_pr_type().prop_map(|rtype| PrOp::Preempt { victim: OURS, rtype, abort: false }),
        1 => Just(PrOp::Clear),
        1 => Just(PrOp::ReadKeys),
        1 => Just(PrOp::ReadReservation),
        // REGISTER AND MOVE to the other host (through `move_to`).
        3 => Just(PrOp::RegisterAndMove { dest_key: OTHER, relative_target_port: 1 }),
    ]
}

fn other_act() -> impl Strategy<Value = OtherAct> {
    prop_oneof![
        1 => Just(OtherAct::Register),
        1 => pr_type().prop_map(OtherAct::Reserve),
        3 => pr_type().prop_map(OtherAct::Preempt),
        1 => Just(OtherAct::Release),
        1 => Just(OtherAct::Clear),
        1 => Just(OtherAct::Unregister),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u8..3, any::<bool>())
            .prop_map(|(group, with_access)| Op::AddPath { group, with_access }),
        1 => any::<u8>().prop_map(|pick| Op::RemovePath { pick }),
        2 => (any::<u8>(), any::<bool>(), any::<bool>())
            .prop_map(|(pick, hang, tell)| Op::Cut { pick, hang, tell }),
        3 => (any::<u8>(), proptest::bool::weighted(0.8))
            .prop_map(|(pick, tell)| Op::Heal { pick, tell }),
        1 => any::<u8>().prop_map(|pick| Op::NexusReplaced { pick }),
        2 => (any::<u8>(), proptest::option::weighted(0.3, probe_result()))
            .prop_map(|(pick, lie)| Op::Probe { pick, lie }),
        1 => (any::<u8>(), probe_result()).prop_map(|(pick, result)| Op::Lie { pick, result }),
        3 => (0u8..3, access_state(), any::<bool>(), 0u8..3).prop_map(
            |(group, state, pref, notify)| Op::TargetAccess { group, state, pref, notify }
        ),
        1 => (any::<u8>(), notices()).prop_map(|(pick, notices)| Op::Notice { pick, notices }),
        8 => (any::<bool>(), 0u8..3, any::<bool>())
            .prop_map(|(write, retries, fast)| Op::Submit { write, retries, fast }),
        8 => (any::<u8>(), outcome(), any::<bool>())
            .prop_map(|(pick, outcome, fast)| Op::Complete { pick, outcome, fast }),
        1 => (any::<u8>(), any::<bool>()).prop_map(|(pick, any)| Op::Cancel { pick, any }),
        1 => Just(Op::Failback),
        1 => any::<u8>().prop_map(|pick| Op::FailPath { pick }),
        2 => any::<u8>().prop_map(|pick| Op::ReinstatePath { pick }),
        1 => any::<u8>().prop_map(|pick| Op::SetMarginal { pick }),
        2 => any::<u8>().prop_map(|pick| Op::ClearMarginal { pick }),
        1 => proptest::option::of(0u8..3).prop_map(|group| Op::SwitchGroup { group }),
        4 => pr_op().prop_map(Op::Reservation),
        2 => (other_act(), any::<u8>()).prop_map(|(act, ua)| Op::Other { act, ua }),
        1 => Just(Op::Idle),
        4 => (0u16..3000).prop_map(|ms| Op::Advance { ms }),
        1 => (1u16..400).prop_map(|secs| Op::AdvanceLarge { secs }),
        3 => Just(Op::ToTimeout),
    ]
}

fn setup() -> impl Strategy<Value = Setup> {
    let no_path = prop_oneof![
        Just(NoPathPolicy::Fail),
        Just(NoPathPolicy::Queue),
        Just(NoPathPolicy::QueueFor(Duration::from_secs(5))),
        Just(NoPathPolicy::QueueFor(Duration::from_secs(30))),
    ];
    let failback = prop_oneof![Just(Failback::Immediate), Just(Failback::Manual)];
    let quiesce = prop_oneof![
        Just(Duration::from_millis(20)),
        Just(Duration::from_millis(100)),
        Just(Duration::from_secs(1)),
    ];
    let policy = prop_oneof![
        3 => Just(Policy::RoundRobin),
        1 => Just(Policy::QueueDepth),
        1 => Just(Policy::ServiceTime),
        1 => Just(Policy::Adaptive),
    ];
    let groups = [
        (access_state(), proptest::bool::weighted(0.3)),
        (access_state(), proptest::bool::weighted(0.3)),
        (access_state(), proptest::bool::weighted(0.3)),
    ];
    (
        (
            no_path,
            failback,
            quiesce,
            any::<bool>(),
            any::<bool>(),
            policy,
        ),
        groups,
        proptest::collection::vec(0u8..3, 1..5),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(
                (no_path, failback, quiesce, explicit_activation, flap_damping, policy),
                groups,
                paths,
                register,
                full_status,
            )| Setup {
                no_path,
                failback,
                quiesce,
                explicit_activation,
                flap_damping,
                policy,
                groups,
                paths,
                register,
                full_status,
            },
        )
}

impl Setup {
    fn config(&self) -> Config {
        let mut cfg = Config::DEFAULT;
        cfg.no_path = self.no_path;
        cfg.failback = self.failback;
        cfg.quiesce_time = self.quiesce;
        cfg.policy = self.policy;
        cfg.delayed_removal = Duration::from_secs(60);
        cfg.access.explicit_activation = self.explicit_activation;
        // Marginal detection on, with a short sample so verdicts happen.
        cfg.marginal.double_failure_window = Duration::from_secs(60);
        cfg.marginal.sample_time = Duration::from_secs(5);
        cfg.marginal.min_samples = 2;
        if self.flap_damping {
            cfg.flap.threshold = 3;
            cfg.flap.recovery_time = Duration::from_secs(30);
        }
        cfg
    }
}

// ----- the model -----

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FLink {
    Up,
    /// Commands fail at once.
    Down,
    /// Commands are never answered (probes time out).
    Hang,
}

/// One path as the fabric knows it.
#[derive(Clone, Copy, Debug)]
struct FPath {
    nexus: u32,
    group: u32,
    link: FLink,
    /// The next probe answer, wrong on purpose.
    lie: Option<ProbeResult>,
}

/// What happened to an attempt at the target when it was sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    /// Executed (a write landed).
    Landed,
    Conflict,
    Down,
    Hang,
    Denied,
    Transitioning,
}

#[derive(Debug)]
struct Flight {
    t: Ticket,
    fate: Fate,
    nexus: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    Flight,
    /// Held by the device; may go out from `ready` on.
    Held {
        ready: Instant,
    },
    Ended(&'static str),
}

#[derive(Debug)]
struct IoRec {
    write: bool,
    /// The retry budget the device must carry.
    retries: u8,
    /// (path a write failed on, that path's quiesce deadline).
    quiesce: Vec<(PathId, Instant)>,
    st: St,
}

/// What the device was told about a path, as it decides its tier.
#[derive(Clone, Copy, Debug)]
struct Facts {
    path: PathId,
    group: u32,
    link: Link,
    admin: bool,
    health: Health,
    access: AccessState,
    suspect: bool,
    preferred: bool,
    registered: bool,
}

/// The reservation coordinator's gate.
#[derive(Clone, Copy, Debug)]
struct Gate {
    key_active: bool,
    quiesced: bool,
    fenced: bool,
}

/// What an input saw before it ran (its route decision uses the
/// coordinator's view from then: the device tells the coordinator after).
struct Pre {
    admitted: BTreeMap<PathId, bool>,
    gate: Gate,
    pins: BTreeSet<Tier>,
    key: Option<u64>,
    fenced: bool,
    ctl_credits: u32,
    pool: u32,
    /// Our reservation's type and holder, when one nexus holds it.
    single: Option<(PrType, PathId)>,
}

fn class(s: AccessState) -> Option<Tier> {
    match s {
        AccessState::Optimized => Some(Tier::Optimized),
        AccessState::NonOptimized | AccessState::LbaDependent => Some(Tier::NonOptimized),
        _ => None,
    }
}

fn transitional(s: AccessState) -> bool {
    matches!(s, AccessState::Transitioning | AccessState::Change)
}

fn after_timeout(s: AccessState) -> AccessState {
    match s {
        AccessState::Transitioning => AccessState::Standby,
        AccessState::Change => AccessState::Inaccessible,
        s => s,
    }
}

/// The tier these facts give, computed here (not `Eligibility::tier`).
fn tier_of(f: &Facts, g: Gate) -> Tier {
    let reachable = f.link == Link::Up && !f.admin;
    let admitted = !g.key_active || f.registered;
    if !reachable || !admitted || f.health == Health::Damped {
        return Tier::Ineligible;
    }
    let access = if f.suspect {
        AccessState::Unavailable
    } else {
        f.access
    };
    match class(access) {
        None => Tier::Ineligible,
        Some(_) if f.health == Health::Marginal => Tier::Marginal,
        Some(t) => t,
    }
}

/// The `i`-th newest element (the last is the newest), wrapping.
fn newest<T>(v: &[T], i: u8) -> Option<&T> {
    let n = v.len();
    (n > 0).then(|| &v[n - 1 - i as usize % n])
}

fn bit(p: PathId) -> u64 {
    1u64 << p.slot()
}

/// Per-tier masks and the preferred mask of a set of facts.
struct Masks {
    tier: [u64; 4],
    preferred: u64,
    in_group: BTreeMap<u32, u64>,
}

impl Masks {
    fn of(facts: &[Facts], g: Gate) -> Masks {
        let mut m = Masks {
            tier: [0; 4],
            preferred: 0,
            in_group: BTreeMap::new(),
        };
        for f in facts {
            m.tier[tier_of(f, g).index()] |= bit(f.path);
            if f.preferred {
                m.preferred |= bit(f.path);
            }
            *m.in_group.entry(f.group).or_default() |= bit(f.path);
        }
        m
    }
    fn best(&self) -> Option<Tier> {
        Tier::USABLE.into_iter().find(|t| self.tier[t.index()] != 0)
    }
    /// The switched group's best tier and mask, if it has usable paths.
    fn switched(&self, group: Option<u32>) -> Option<(Tier, u64)> {
        let in_group = *self.in_group.get(&group?)?;
        Tier::USABLE
            .into_iter()
            .map(|t| (t, self.tier[t.index()] & in_group))
            .find(|&(_, m)| m != 0)
    }
    /// The mask for tier `t` with PREF applied, and without.
    fn narrowed(&self, t: Tier) -> (u64, u64) {
        let m = self.tier[t.index()];
        if m & self.preferred != 0 {
            (m & self.preferred, m)
        } else {
            (m, m)
        }
    }
}

struct Sim {
    d: Dev,
    cfg: Config,
    now: Instant,
    step: usize,
    cursor: Cursor<8>,
    t: Target,
    groups: BTreeMap<u32, (AccessState, bool)>,
    fabric: BTreeMap<PathId, FPath>,
    /// Present paths, oldest first: picks count from the newest, so that
    /// deleting an earlier op while shrinking does not change what a later
    /// op picks.
    order: Vec<PathId>,
    next_nexus: u32,
    // What the device was told.
    link: BTreeMap<PathId, Link>,
    admin: BTreeSet<PathId>,
    suspect: BTreeSet<PathId>,
    manual_marginal: BTreeSet<PathId>,
    reported: BTreeMap<u32, GroupAccess>,
    probes_out: BTreeMap<PathId, Instant>,
    switched: Option<u32>,
    // I/O.
    next_tag: u64,
    ios: BTreeMap<u64, IoRec>,
    flights: Vec<Flight>,
    /// Every write the target accepted: (tag, path, nexus, when).
    accepted: Vec<(u64, PathId, u32, Instant)>,
    // Selection.
    expect_mask: u64,
    /// The mask writes may use (the reservation type can narrow it).
    expect_write_mask: u64,
    /// When the latest command that removed registrations of ours (a
    /// PREEMPT of our own key, an unregistration) was answered.
    own_removal_at: Option<Instant>,
    /// The tiers a manual failback may have pinned selection to: every
    /// tier published since selection was last seen on the best one (a
    /// pin outlives a switch_group, and may be taken while switched).
    pins: BTreeSet<Tier>,
    no_path_since: Option<Instant>,
    failback_now: bool,
    // Reservations.
    pending_ua: BTreeMap<u32, Notices>,
    /// The other host removed our registrations and the user has not
    /// registered again since.
    foreign_dirty: bool,
    /// ... and no READ KEYS of the device's has reached the target since.
    foreign_unverified: bool,
    /// A reservation notice reached the device: READ KEYS must follow.
    verify_expected: bool,
    user_readkeys: bool,
    /// The other host changed the reservation and the device's view has
    /// not matched the target's since (it cannot know without a notice).
    resv_unknown: bool,
    /// An activation was answered Retry and not yet Done or Failed: the
    /// device may still be activating (it can also drop it silently, so
    /// this only ever makes the Fail check skip).
    activation_retry: bool,
    fenced: bool,
    /// Another host removed every registration of our key (a preemption
    /// or a clear) and the user has not registered since: the truth the
    /// device has to discover. A registration of our key after this was
    /// made behind the fence, and no I/O may go through it (invariant 8).
    behind_fence: bool,
    head_removed: bool,
}

impl Sim {
    fn new(s: &Setup) -> Sim {
        let cfg = s.config();
        let d = Dev::new(DataPlane::new(), cfg, RegistrationScope::Nexus).unwrap();
        let mut sim = Sim {
            d,
            cfg,
            now: Instant::from_nanos(0),
            step: 0,
            cursor: Cursor::new(Locality(0)),
            t: Target {
                full_status: s.full_status,
                ..Target::default()
            },
            groups: GROUPS.iter().copied().zip(s.groups).collect(),
            fabric: BTreeMap::new(),
            order: Vec::new(),
            next_nexus: 100,
            link: BTreeMap::new(),
            admin: BTreeSet::new(),
            suspect: BTreeSet::new(),
            manual_marginal: BTreeSet::new(),
            reported: BTreeMap::new(),
            probes_out: BTreeMap::new(),
            switched: None,
            next_tag: 0,
            ios: BTreeMap::new(),
            flights: Vec::new(),
            accepted: Vec::new(),
            expect_mask: 0,
            expect_write_mask: 0,
            own_removal_at: None,
            pins: BTreeSet::new(),
            no_path_since: None,
            failback_now: false,
            pending_ua: BTreeMap::new(),
            foreign_dirty: false,
            foreign_unverified: false,
            verify_expected: false,
            user_readkeys: false,
            resv_unknown: false,
            activation_retry: false,
            fenced: false,
            behind_fence: false,
            head_removed: false,
        };
        for &g in &s.paths {
            sim.add_path(g, true);
        }
        if s.register {
            sim.reservation(PrOp::Register(OURS));
        }
        sim
    }

    fn fail(&self, inv: u32, msg: String) -> ! {
        panic!(
            "invariant {inv} broken at step {} (t={} ms): {msg}\nfabric: {:?}\ntarget: regs {:?} resv {:?}\ndevice:\n{}",
            self.step,
            self.now.as_nanos() / 1_000_000,
            self.fabric,
            self.t.regs,
            self.t.resv,
            self.d.controller().topology("dev"),
        )
    }

    // ----- lookups -----

    fn paths(&self) -> Vec<PathId> {
        self.fabric.keys().copied().collect()
    }

    /// The `i`-th newest present path.
    fn pick(&self, i: u8) -> Option<PathId> {
        newest(&self.order, i).copied()
    }

    fn facts(&self) -> Vec<Facts> {
        let c = self.d.controller();
        self.fabric
            .iter()
            .map(|(&p, fp)| {
                let s = c.path_snapshot(p, &[]).unwrap();
                Facts {
                    path: p,
                    group: fp.group,
                    link: self.link[&p],
                    admin: self.admin.contains(&p),
                    health: s.health,
                    access: s.access,
                    suspect: self.suspect.contains(&p),
                    preferred: s.preferred,
                    registered: self.d.coordinator().admitted(p),
                }
            })
            .collect()
    }

    fn gate(&self) -> Gate {
        let pr = self.d.coordinator();
        Gate {
            key_active: pr.key_active(),
            quiesced: pr.is_quiesced(),
            fenced: pr.is_fenced(),
        }
    }

    fn pre(&self) -> Pre {
        let pr = self.d.coordinator();
        Pre {
            admitted: self
                .paths()
                .into_iter()
                .map(|p| (p, pr.admitted(p)))
                .collect(),
            gate: self.gate(),
            pins: self.pins.clone(),
            key: pr.key(),
            fenced: pr.is_fenced(),
            ctl_credits: self.d.controller().cursor_credits(),
            pool: self.d.data_plane().credits_available(),
            single: pr.reservation().zip(pr.holder()),
        }
    }

    fn held(&self) -> usize {
        self.ios
            .values()
            .filter(|r| matches!(r.st, St::Held { .. }))
            .count()
    }

    fn key(&self) -> Option<u64> {
        self.d.coordinator().key()
    }

    // ----- after every device call -----

    /// Compare the device with what it was told; compute the selectable
    /// mask and active tier independently.
    fn check_state(&mut self, what: &str) {
        let c = self.d.controller();
        let present: Vec<PathId> = c.path_ids().collect();
        if present != self.paths() {
            self.fail(
                1,
                format!("{what}: paths {present:?}, model {:?}", self.paths()),
            );
        }
        let gate = self.gate();
        let facts = self.facts();
        for f in &facts {
            let s = c.path_snapshot(f.path, &[]).unwrap();
            if s.link != f.link || s.admin_failed != f.admin {
                self.fail(
                    2,
                    format!(
                        "{what}: {:?} link {:?} admin {} but it was told link {:?} admin {}",
                        f.path, s.link, s.admin_failed, f.link, f.admin
                    ),
                );
            }
            let told = self.reported[&f.group];
            let access_ok = if transitional(told.state) {
                s.access == told.state || s.access == after_timeout(told.state)
            } else {
                s.access == told.state
            };
            if !access_ok || s.preferred != told.preferred {
                self.fail(
                    2,
                    format!(
                        "{what}: {:?} access {:?} pref {} but group {} was reported {told:?}",
                        f.path, s.access, s.preferred, f.group
                    ),
                );
            }
            if self.manual_marginal.contains(&f.path)
                && !matches!(s.health, Health::Marginal | Health::Damped)
            {
                self.fail(
                    2,
                    format!("{what}: {:?} set marginal but {:?}", f.path, s.health),
                );
            }
            if s.registered != f.registered {
                self.fail(
                    10,
                    format!(
                        "{what}: {:?} controller registered={} coordinator admitted={}",
                        f.path, s.registered, f.registered
                    ),
                );
            }
            // Up, not failed by hand, not damped, in an access state that
            // processes reservation commands (checked against what the
            // group was told just above): what may carry reservation
            // commands (and hold a reservation).
            let reachable = f.link == Link::Up
                && !f.admin
                && f.health != Health::Damped
                && s.access.serves_reservations();
            if self.d.coordinator().is_up(f.path) != Some(reachable) {
                self.fail(
                    10,
                    format!(
                        "{what}: {:?} is {} for the controller but {:?} for the coordinator",
                        f.path,
                        if reachable { "up" } else { "down" },
                        self.d.coordinator().is_up(f.path)
                    ),
                );
            }
            let mine = tier_of(f, gate);
            if s.tier != mine {
                self.fail(
                    2,
                    format!(
                        "{what}: {:?} tier {:?}, computed {mine:?} from {f:?}",
                        f.path, s.tier
                    ),
                );
            }
        }

        // The mask and tier selection must use.
        let m = Masks::of(&facts, gate);
        let active = c.active_tier();
        // The reservation type: under Write Exclusive only the holder's
        // nexus writes, under Exclusive Access it alone reads and writes
        // (SPC-4 table 217), whatever tier it is in: the mask for that
        // kind of I/O is the holder alone while its tier is usable, else
        // empty.
        let pr = self.d.coordinator();
        let single = match (pr.reservation(), pr.holder()) {
            (Some(t @ (PrType::WriteExclusive | PrType::ExclusiveAccess)), Some(h))
                if gate.key_active && !gate.quiesced && !gate.fenced =>
            {
                let usable = facts
                    .iter()
                    .find(|f| f.path == h)
                    .map(|f| tier_of(f, gate))
                    .filter(|t| Tier::USABLE.contains(t));
                Some((t, usable.map_or(0, |_| bit(h)), usable))
            }
            _ => None,
        };
        let (mask, expect_active) = if gate.quiesced || gate.fenced {
            (0, None)
        } else if let Some((t, mask)) = m.switched(self.switched) {
            self.pins.insert(t);
            (mask, Some(t))
        } else if let Some(best) = m.best() {
            let pinned = |a: Tier| {
                self.cfg.failback == Failback::Manual
                    && !self.failback_now
                    && a > best
                    && m.tier[a.index()] != 0
                    && self.pins.contains(&a)
            };
            let chosen = match active {
                Some(a) if a == best => best,
                Some(a) if pinned(a) => a,
                _ => self.fail(
                    2,
                    format!(
                        "{what}: active tier {active:?}, best usable {best:?}, may be pinned to {:?}, failback {:?}",
                        self.pins, self.cfg.failback
                    ),
                ),
            };
            self.pins = BTreeSet::from([chosen]);
            let (with, without) = m.narrowed(chosen);
            let dp = c.data_plane().selectable();
            if dp == without && with != without {
                self.fail(
                    5,
                    format!(
                        "{what}: selectable {dp:#b} includes non-preferred paths; preferred {with:#b}"
                    ),
                );
            }
            (with, Some(chosen))
        } else {
            self.pins.clear();
            (0, None)
        };
        let write_mask = single.map_or(mask, |(_, m, _)| m);
        // The active tier stays the paths' choice; the masks narrow.
        let mask = match single {
            Some((PrType::ExclusiveAccess, m, _)) => m,
            _ => mask,
        };
        let dw = c.data_plane().writable();
        if dw != write_mask {
            self.fail(
                2,
                format!(
                    "{what}: writable {dw:#b}, computed {write_mask:#b} (reservation {:?} holder {:?})",
                    self.d.coordinator().reservation(),
                    self.d.coordinator().holder()
                ),
            );
        }
        self.expect_write_mask = write_mask;
        let dp = c.data_plane().selectable();
        if dp != mask || active != expect_active {
            self.fail(
                2,
                format!(
                    "{what}: selectable {dp:#b} active {active:?}, computed {mask:#b} {expect_active:?} (gate {gate:?}, switched {:?})",
                    self.switched
                ),
            );
        }
        self.expect_mask = mask;
        if mask == 0 {
            self.no_path_since.get_or_insert(self.now);
        } else {
            self.no_path_since = None;
        }

        // Every I/O accounted for, and every admission credit.
        let held = self.held();
        if c.queued() != held {
            self.fail(
                1,
                format!("{what}: device holds {}, model {held}", c.queued()),
            );
        }
        let credits = self.flights.len()
            + held
            + self.cursor.credits() as usize
            + c.cursor_credits() as usize
            + c.data_plane().credits_available() as usize;
        if credits != Q {
            self.fail(
                1,
                format!(
                    "{what}: credits {} in flight + {held} held + {} + {} in cursors + {} pooled != {Q}",
                    self.flights.len(),
                    self.cursor.credits(),
                    c.cursor_credits(),
                    c.data_plane().credits_available()
                ),
            );
        }
        if self.d.coordinator().is_fenced() {
            if !self.fenced {
                count("fenced");
            }
            self.fenced = true;
        }
        if self.no_path_since.is_some() && self.held() > 0 {
            count("held with no path");
        }
    }

    // ----- I/O bookkeeping -----

    fn end(&mut self, io: &Io, how: &'static str, result: Result<(), IoError>) {
        let tag = io.tag.0;
        let Some(rec) = self.ios.get(&tag) else {
            self.fail(
                1,
                format!("I/O {tag} ended ({how}) but was never submitted"),
            );
        };
        if let St::Ended(before) = rec.st {
            self.fail(1, format!("I/O {tag} ended twice: {before}, then {how}"));
        }
        if io.retries != rec.retries {
            self.fail(
                6,
                format!(
                    "I/O {tag} ended ({how}) with {} retries left, expected {}",
                    io.retries, rec.retries
                ),
            );
        }
        match result {
            Err(IoError::NoPath) => self.check_no_path_failure(tag, how),
            Err(IoError::Fenced) if !self.d.coordinator().is_fenced() => {
                self.fail(8, format!("I/O {tag} failed as fenced while not fenced"))
            }
            Err(IoError::HeadRemoved) if self.d.controller().head_state() != HeadState::Removed => {
                self.fail(4, format!("I/O {tag} failed as head removed, head is live"))
            }
            _ => {}
        }
        self.ios.get_mut(&tag).unwrap().st = St::Ended(how);
        count(how);
        if let Err(e) = result {
            count(match e {
                IoError::NoPath => "err: no path",
                IoError::Fenced => "err: fenced",
                IoError::HeadRemoved => "err: head removed",
                IoError::RetriesExhausted => "err: retries exhausted",
                _ => "err: other",
            });
        }
    }

    /// Invariant 4: a NoPath failure only when the policy allows it now.
    fn check_no_path_failure(&self, tag: u64, how: &str) {
        match self.cfg.no_path {
            NoPathPolicy::Queue => self.fail(
                4,
                format!("I/O {tag} failed with NoPath ({how}) under Queue"),
            ),
            NoPathPolicy::QueueFor(d) => {
                let since = self.no_path_since.unwrap_or(self.now);
                if self.now < since.saturating_add(d) {
                    self.fail(
                        4,
                        format!(
                            "I/O {tag} failed with NoPath ({how}) at {} ms, no path since {} ms, queue_for {} ms",
                            self.now.as_nanos() / 1_000_000,
                            since.as_nanos() / 1_000_000,
                            d.as_millis()
                        ),
                    );
                }
            }
            NoPathPolicy::Fail => {}
        }
    }

    /// A ticket went out. `allowed`: the paths selection may use (and
    /// the same without PREF); `key`/`fenced`: the coordinator's view the
    /// decision was made under.
    fn dispatched(
        &mut self,
        t: Ticket,
        allowed: (u64, u64),
        key: Option<u64>,
        fenced: bool,
        how: &'static str,
    ) {
        let tag = t.io().tag.0;
        let path = t.path();
        let nexus = self.fabric.get(&path).map(|fp| fp.nexus);
        if self.behind_fence && key.is_some() && nexus.and_then(|n| self.t.key_of(n)) == key {
            self.fail(
                8,
                format!(
                    "I/O {tag} dispatched ({how}) on {path:?} through a registration of our key {key:?} made after another host removed every one of them (regs {:?})",
                    self.t.regs
                ),
            );
        }
        if self.fenced || fenced {
            self.fail(
                8,
                format!("I/O {tag} dispatched ({how}) on {path:?} while fenced"),
            );
        }
        if allowed.0 & bit(path) == 0 {
            let inv = if allowed.1 & bit(path) != 0 { 5 } else { 2 };
            self.fail(
                inv,
                format!(
                    "I/O {tag} dispatched ({how}) on {path:?}, selection may use {:#b} (without PREF {:#b})",
                    allowed.0, allowed.1
                ),
            );
        }
        let Some(fp) = self.fabric.get(&path).copied() else {
            self.fail(
                2,
                format!("I/O {tag} dispatched ({how}) on a removed path {path:?}"),
            );
        };
        if let Some(k) = key {
            if self.t.key_of(fp.nexus) != Some(k) && !self.foreign_unverified {
                self.fail(
                    2,
                    format!(
                        "I/O {tag} dispatched ({how}) on {path:?}, nexus {} not registered with key {k:#x} (has {:?})",
                        fp.nexus,
                        self.t.key_of(fp.nexus)
                    ),
                );
            }
        }
        let rec = &self.ios[&tag];
        if !matches!(rec.st, St::Flight | St::Held { .. }) {
            self.fail(1, format!("I/O {tag} dispatched ({how}) but {:?}", rec.st));
        }
        if t.io().retries != rec.retries {
            self.fail(
                6,
                format!(
                    "I/O {tag} dispatched ({how}) with {} retries, expected {}",
                    t.io().retries,
                    rec.retries
                ),
            );
        }
        let write = rec.write;
        let rec_quiesce_empty = rec.quiesce.is_empty();
        for &(failed, until) in &rec.quiesce {
            if failed != path && self.now < until {
                self.fail(
                    3,
                    format!(
                        "write {tag} failed on {failed:?}, re-sent on {path:?} at {} ms, before the quiesce time {} ms",
                        self.now.as_nanos() / 1_000_000,
                        until.as_nanos() / 1_000_000
                    ),
                );
            }
        }
        // What the target makes of it.
        let (state, _) = self.groups[&fp.group];
        let fate = match fp.link {
            FLink::Down => Fate::Down,
            FLink::Hang => Fate::Hang,
            FLink::Up if transitional(state) => Fate::Transitioning,
            FLink::Up if class(state).is_none() => Fate::Denied,
            FLink::Up if self.t.io_conflicts(fp.nexus, write) => Fate::Conflict,
            FLink::Up => Fate::Landed,
        };
        if fate == Fate::Conflict && !self.conflict_excused() {
            self.fail(
                7,
                format!(
                    "{} {tag} on {path:?} (nexus {}) conflicts with our own reservation {:?}, registrations {:?}",
                    if write { "write" } else { "read" },
                    fp.nexus,
                    self.t.resv,
                    self.t.regs
                ),
            );
        }
        if fate == Fate::Landed && write {
            self.accepted.push((tag, path, fp.nexus, self.now));
        }
        count(how);
        if !rec_quiesce_empty {
            count("dispatch after a write failover");
        }
        if fate == Fate::Conflict {
            count("conflict (excused)");
        }
        if self.d.coordinator().key().is_some() {
            count("dispatch with a key set");
        }
        self.ios.get_mut(&tag).unwrap().st = St::Flight;
        self.flights.push(Flight {
            t,
            fate,
            nexus: fp.nexus,
        });
    }

    /// A conflict is the other host's doing: it removed our registrations,
    /// or holds an exclusive reservation, or one while we use no key.
    fn conflict_excused(&self) -> bool {
        if self.foreign_dirty {
            return true;
        }
        let registered = self.t.regs.iter().any(|r| r.1 == OURS || r.1 == OURS2);
        match self.t.resv {
            // An all-registrants reservation is every registrant's: once we
            // unregistered, the hosts still registered hold it, whoever
            // took it.
            Some((_, _, t)) if t.all_registrants() && !registered && self.key().is_none() => true,
            Some((_, k, t)) if k != OURS && k != OURS2 => {
                matches!(t, PrType::WriteExclusive | PrType::ExclusiveAccess)
                    || self.key().is_none()
            }
            _ => false,
        }
    }

    /// What selection may use for a decision made inside an input: the
    /// paths' facts after it, the coordinator's gate before it.
    fn allowed_inside(&self, pre: &Pre, write: bool) -> (u64, u64) {
        if pre.gate.quiesced || pre.gate.fenced {
            return (0, 0);
        }
        let mut facts = self.facts();
        for f in &mut facts {
            f.registered = pre.admitted.get(&f.path).copied().unwrap_or(false);
        }
        let m = Masks::of(&facts, pre.gate);
        // Write Exclusive (writes) and Exclusive Access: the holder alone.
        let only = if write {
            &[PrType::WriteExclusive, PrType::ExclusiveAccess][..]
        } else {
            &[PrType::ExclusiveAccess][..]
        };
        if let Some((_, h)) = pre
            .single
            .filter(|(t, _)| pre.gate.key_active && only.contains(t))
        {
            let usable = facts
                .iter()
                .any(|f| f.path == h && Tier::USABLE.contains(&tier_of(f, pre.gate)));
            let mask = if usable { bit(h) } else { 0 };
            return (mask, mask);
        }
        if let Some((_, mask)) = m.switched(self.switched) {
            return (mask, mask);
        }
        let Some(best) = m.best() else { return (0, 0) };
        let mut allowed = m.narrowed(best);
        if self.cfg.failback == Failback::Manual {
            for &a in &pre.pins {
                if a > best && m.tier[a.index()] != 0 {
                    let (w, wo) = m.narrowed(a);
                    allowed = (allowed.0 | w, allowed.1 | wo);
                }
            }
        }
        allowed
    }

    fn disposition(&mut self, tag: u64, d: Disposition, pre: &Pre, how: &'static str) {
        match d {
            Disposition::Done { io, result } => {
                if result == Err(IoError::NoPath) {
                    // Decided where a dispatch would have been.
                    let allowed = self.allowed_inside(pre, io.kind == IoKind::Write);
                    if allowed.0 != 0 {
                        self.fail(
                            4,
                            format!(
                                "I/O {tag} failed with NoPath ({how}) while {:#b} usable",
                                allowed.0
                            ),
                        );
                    }
                }
                self.end(&io, how, result);
            }
            Disposition::Dispatch(t) => {
                let allowed = self.allowed_inside(pre, t.io().kind == IoKind::Write);
                self.dispatched(t, allowed, pre.key, pre.fenced, how);
            }
            Disposition::Queued => {
                let rec = &self.ios[&tag];
                let ready = match rec.st {
                    St::Held { ready } => ready,
                    _ => self.now,
                };
                self.ios.get_mut(&tag).unwrap().st = St::Held { ready };
            }
            Disposition::Busy(io) => {
                if how != "submit" {
                    self.fail(1, format!("I/O {tag}: Busy from {how}"));
                }
                if pre.ctl_credits != 0 || pre.pool != 0 {
                    self.fail(
                        1,
                        format!(
                            "I/O {tag} refused Busy with {} credits in the controller's cursor, {} pooled",
                            pre.ctl_credits, pre.pool
                        ),
                    );
                }
                self.end(&io, "busy", Ok(()));
            }
            other => self.fail(1, format!("unexpected disposition {other:?}")),
        }
    }

    // ----- inputs -----

    fn add_path(&mut self, group: u8, with_access: bool) {
        let g = GROUPS[group as usize % 3];
        let (state, pref) = self.groups[&g];
        let nexus = self.next_nexus;
        let mut spec = PathSpec::new(GroupId(g), NexusId(nexus));
        if with_access {
            spec = spec.with_access(GroupAccess {
                state,
                preferred: pref,
            });
        }
        match self.d.add_path(spec, nexus, self.now) {
            Ok(p) => {
                self.next_nexus += 1;
                self.order.push(p);
                self.fabric.insert(
                    p,
                    FPath {
                        nexus,
                        group: g,
                        link: FLink::Up,
                        lie: None,
                    },
                );
                self.link.insert(p, Link::Up);
                self.admin.remove(&p);
                self.suspect.remove(&p);
                self.manual_marginal.remove(&p);
                self.probes_out.remove(&p);
                if with_access {
                    self.reported.insert(
                        g,
                        GroupAccess {
                            state,
                            preferred: pref,
                        },
                    );
                } else {
                    self.reported
                        .entry(g)
                        .or_insert(GroupAccess::new(AccessState::Optimized));
                }
            }
            Err(Rejected {
                error: Error::PathTableFull | Error::HeadRemoved,
                ..
            }) => {}
            Err(e) => self.fail(1, format!("add_path refused: {e:?}")),
        }
        self.check_state("add_path");
    }

    fn forget_orphaned_groups(&mut self) {
        let in_use: BTreeSet<u32> = self.fabric.values().map(|f| f.group).collect();
        self.reported.retain(|g, _| in_use.contains(g));
        if self.switched.is_some_and(|g| !in_use.contains(&g)) {
            self.switched = None;
        }
    }

    fn remove_path(&mut self, p: PathId) {
        self.d.remove_path(p, self.now).unwrap();
        self.fabric.remove(&p);
        self.order.retain(|&q| q != p);
        self.link.remove(&p);
        self.admin.remove(&p);
        self.suspect.remove(&p);
        self.manual_marginal.remove(&p);
        self.probes_out.remove(&p);
        self.forget_orphaned_groups();
        if self.fabric.is_empty() && self.cfg.delayed_removal.is_zero() {
            self.head_removed = true;
        }
        self.check_state("remove_path");
    }

    /// Notices that arrive with a command on `nexus` (of path `p`).
    fn take_ua(&mut self, nexus: u32) -> Notices {
        self.pending_ua.remove(&nexus).unwrap_or_default()
    }

    fn expect_verify(&mut self, p: PathId, notices: Notices) {
        let pr = self.d.coordinator();
        if notices.intersects(PR_NOTICES)
            && pr.key().is_some()
            && !pr.is_fenced()
            && self.fabric.contains_key(&p)
        {
            self.verify_expected = true;
        }
    }

    fn notices(&mut self, p: PathId, n: Notices, what: &str) {
        if n.is_empty() {
            return;
        }
        self.expect_verify(p, n);
        self.d.handle_notices(p, n, self.now).unwrap();
        self.check_state(what);
    }

    fn truth(&self, fp: &FPath) -> ProbeResult {
        match fp.link {
            FLink::Down | FLink::Hang => ProbeResult::Down,
            FLink::Up => match self.groups[&fp.group].0 {
                AccessState::Standby => ProbeResult::Ghost,
                AccessState::Transitioning | AccessState::Change => ProbeResult::Pending,
                AccessState::Unavailable | AccessState::Offline => ProbeResult::Down,
                _ => ProbeResult::Up,
            },
        }
    }

    fn probe(&mut self, p: PathId, r: ProbeResult, what: &str) {
        match r {
            ProbeResult::Up | ProbeResult::Ghost => {
                self.link.insert(p, Link::Up);
            }
            ProbeResult::Pending => {
                self.link.insert(p, Link::Pending);
            }
            ProbeResult::Down => {
                self.link.insert(p, Link::Down);
            }
            _ => {}
        }
        self.probes_out.remove(&p);
        self.d.handle_probe(p, r, self.now).unwrap();
        self.check_state(what);
    }

    /// Answer a probe the device asked for, from the fabric (or its lie).
    fn answer_probe(&mut self, p: PathId) {
        let Some(fp) = self.fabric.get(&p).copied() else {
            self.fail(1, format!("probe of a removed path {p:?}"));
        };
        if self.probes_out.contains_key(&p) {
            self.fail(10, format!("a second probe of {p:?} while one is out"));
        }
        if fp.link == FLink::Hang {
            let deadline = self.now.saturating_add(self.cfg.probe.timeout);
            self.probes_out.insert(p, deadline);
            return;
        }
        if fp.link == FLink::Up {
            let ua = self.take_ua(fp.nexus);
            self.notices(p, ua, "probe unit attention");
        }
        let lie = self.fabric.get_mut(&p).and_then(|f| f.lie.take());
        let r = lie.unwrap_or_else(|| self.truth(&fp));
        self.probe(p, r, "probe answer");
    }

    fn report_groups(&mut self) {
        for g in GROUPS {
            let (state, preferred) = self.groups[&g];
            let a = GroupAccess { state, preferred };
            self.d.handle_access_state(GroupId(g), a, self.now).unwrap();
            self.reported.insert(g, a);
            for (p, fp) in &self.fabric {
                if fp.group == g {
                    self.suspect.remove(p);
                }
            }
            self.check_state("access state");
        }
    }

    fn answer_refresh(&mut self, via: PathId) {
        let fp = self.fabric[&via];
        let ok = fp.link == FLink::Up;
        if ok {
            let ua = self.take_ua(fp.nexus);
            self.notices(via, ua, "refresh unit attention");
            self.report_groups();
        }
        self.d.handle_refresh_result(via, ok, self.now).unwrap();
        self.check_state("refresh result");
    }

    fn answer_activation(&mut self, group: GroupId, via: PathId) {
        let fp = self.fabric[&via];
        let (state, pref) = self.groups[&group.0];
        let r = if fp.link != FLink::Up {
            ActivationResult::Retry
        } else if matches!(
            state,
            AccessState::Offline | AccessState::PersistentLoss | AccessState::Unavailable
        ) {
            ActivationResult::Failed
        } else {
            self.groups.insert(group.0, (AccessState::Optimized, pref));
            ActivationResult::Done
        };
        self.activation_retry = r == ActivationResult::Retry;
        self.d.handle_activation_result(group, r, self.now).unwrap();
        self.check_state("activation result");
    }

    fn answer_reservation(&mut self, a: PrAction) {
        let Some(fp) = self.fabric.get(&a.via).copied() else {
            self.fail(10, format!("reservation command on a removed path: {a:?}"));
        };
        let key = self.key();
        // A PREEMPT of our own key while we hold it (unregistrations go
        // out with the key dropped or fenced, when no conflict is checked).
        let own_removal =
            matches!(a.command, PrCommand::Preempt { victim, .. } if Some(victim) == key);
        if own_removal {
            self.own_removal_at = Some(self.now);
        }
        let reply = if fp.link == FLink::Up {
            let ua = self.take_ua(fp.nexus);
            self.notices(a.via, ua, "reservation unit attention");
            let reply = self.t.exec(fp.nexus, a.command, key.unwrap_or(OURS));
            self.t.settle();
            reply
        } else {
            PrReply::PathFailed
        };
        let mut check_fence = false;
        if a.command == PrCommand::ReadKeys {
            if self.user_readkeys {
                if reply != PrReply::PathFailed {
                    self.user_readkeys = false;
                }
            } else {
                self.verify_expected = false;
                if reply != PrReply::PathFailed {
                    // A silent preemption is settled once the device's
                    // registered paths are the target's (open bug 4b: a
                    // key count can agree while they do not).
                    self.foreign_unverified = false;
                    check_fence = matches!(reply, PrReply::Keys { ours: 0, .. })
                        && key.is_some()
                        && !self.d.coordinator().is_fenced();
                }
            }
        }
        if reply == PrReply::PathFailed {
            self.link.insert(a.via, Link::Down);
        }
        self.d
            .handle_reservation_reply(a.via, reply, self.now)
            .unwrap();
        self.check_state("reservation reply");
        if check_fence && !self.d.coordinator().is_fenced() {
            self.fail(
                8,
                format!(
                    "READ KEYS found none of our key {key:?} (regs {:?}) and the device is not fenced",
                    self.t.regs
                ),
            );
        }
    }

    /// `poll_action` until `None`, then `poll_event` until `None`.
    fn drain(&mut self) {
        self.drain_actions();
        while let Some(e) = self.d.poll_event() {
            self.event(e);
        }
    }

    fn drain_actions(&mut self) {
        for round in 0.. {
            if round > 2000 {
                self.fail(9, "poll_action never returns None".into());
            }
            let (expect, expect_write) = (self.expect_mask, self.expect_write_mask);
            let pre = self.pre();
            let Some(a) = self.d.poll_action() else { break };
            trace(format_args!("    action {a:?}"));
            match a {
                Action::Dispatch(t) => {
                    let m = if t.io().kind == IoKind::Write {
                        expect_write
                    } else {
                        expect
                    };
                    self.dispatched(t, (m, m), pre.key, pre.fenced, "held");
                }
                Action::Fail { io, error } => {
                    if self.expect_mask != 0 && error == IoError::NoPath {
                        self.fail(
                            4,
                            format!("held I/O {:?} failed NoPath with paths selectable", io.tag),
                        );
                    }
                    self.end(&io, "failed", Err(error));
                }
                Action::Probe(p) => self.answer_probe(p),
                Action::RefreshAccessState { via } => self.answer_refresh(via),
                Action::ActivateGroup { group, via } => self.answer_activation(group, via),
                Action::Reservation(cmd) => {
                    count("reservation command");
                    self.answer_reservation(cmd)
                }
                Action::HeadRemoved => self.head_removed = true,
                Action::TransitionTimedOut { .. } | Action::HeadLive => {}
                other => self.fail(1, format!("unexpected action {other:?}")),
            }
            self.check_state("poll_action");
        }
        self.check_state("poll_action: none left");
    }

    fn event(&mut self, e: DeviceEvent) {
        let c = self.d.controller();
        let ok = match e {
            DeviceEvent::PathFailed(p) => c.tier(p) == Ok(Tier::Ineligible),
            DeviceEvent::PathReinstated { path, tier } | DeviceEvent::PathTier { path, tier } => {
                c.tier(path) == Ok(tier)
            }
            DeviceEvent::PathMarginal(p) => c.tier(p) == Ok(Tier::Marginal),
            DeviceEvent::ActiveTier(t) => c.active_tier() == t,
            DeviceEvent::Reservation(PrEvent::Fenced) => self.d.coordinator().is_fenced(),
            DeviceEvent::Reservation(PrEvent::Moved { holder }) => {
                count("reservation moved");
                let nexus = self.fabric.get(&holder).map(|f| f.nexus);
                let ok = self
                    .t
                    .resv
                    .is_some_and(|(h, k, _)| Some(h) == nexus && Some(k) == self.key());
                if !ok {
                    self.fail(
                        10,
                        format!(
                            "reservation moved to {holder:?} (nexus {nexus:?}) but the target has {:?}",
                            self.t.resv
                        ),
                    );
                }
                true
            }
            DeviceEvent::Reservation(PrEvent::Finished {
                op,
                result: Ok(report),
            }) => {
                // What the device says it now holds is what the target
                // has (unless the other host changed it unseen). An
                // all-registrants reservation has no key of its own (SPC-4
                // READ RESERVATION reports zero): compare its type.
                let ours = |r: Option<(u64, PrType)>| {
                    r.filter(|r| r.0 == OURS || r.0 == OURS2)
                        .map(|(k, t)| (if t.all_registrants() { 0 } else { k }, t))
                };
                // Every registrant holds an all-registrants reservation,
                // whoever took it.
                let registered = self.t.regs.iter().any(|r| r.1 == OURS || r.1 == OURS2);
                let target = self.t.resv.map(|(_, k, t)| match self.key() {
                    Some(key) if t.all_registrants() && registered => (key, t),
                    _ => (k, t),
                });
                let changes = matches!(
                    op,
                    PrOp::Reserve(_)
                        | PrOp::Preempt { .. }
                        | PrOp::Release
                        | PrOp::Clear
                        | PrOp::RegisterAndMove { .. }
                );
                if changes && !self.resv_unknown && ours(report.reservation) != ours(target) {
                    self.fail(
                        10,
                        format!(
                            "{op:?} finished reporting reservation {:?}; the target has {:?}",
                            report.reservation, self.t.resv
                        ),
                    );
                }
                if matches!(op, PrOp::Register(_)) {
                    self.foreign_dirty = false;
                }
                if matches!(op, PrOp::RegisterAndMove { .. }) {
                    count("register and move done");
                }
                true
            }
            _ => true,
        };
        if !ok {
            self.fail(10, format!("event {e:?} does not match the state"));
        }
    }

    fn reservation(&mut self, op: PrOp) {
        let r = match op {
            // The TransportID names the other host's initiator port, which
            // the model knows as its nexus.
            PrOp::RegisterAndMove {
                dest_key,
                relative_target_port,
            } => {
                self.t.move_dest = Some(OTHER_NEXUS);
                let r =
                    self.d
                        .reservation_move_to(OTHER_TID, relative_target_port, dest_key, self.now);
                count(if r.is_ok() {
                    "register and move started"
                } else {
                    "register and move refused"
                });
                r
            }
            _ => self.d.reservation(op, self.now),
        };
        count(if r.is_ok() {
            "pr op started"
        } else {
            "pr op refused"
        });
        if r.is_ok() {
            match op {
                PrOp::Register(_) | PrOp::Unregister => {
                    self.fenced = false;
                    self.behind_fence = false;
                }
                PrOp::ReadKeys => self.user_readkeys = true,
                _ => {}
            }
        }
        self.check_state("reservation");
        self.drain();
        self.user_readkeys = false;
    }

    fn other(&mut self, act: OtherAct, ua: u8) {
        let ours_before: BTreeSet<u32> = self
            .t
            .regs
            .iter()
            .filter(|r| r.0 != OTHER_NEXUS)
            .map(|r| r.0)
            .collect();
        let held_by_other = |t: &Target| t.resv.is_some_and(|r| r.1 == OTHER);
        let (cmd, notice) = match act {
            OtherAct::Register => (PrCommand::Register { key: OTHER }, Notices::empty()),
            OtherAct::Unregister => (PrCommand::Unregister, Notices::RESERVATIONS_RELEASED),
            OtherAct::Reserve(rtype) => {
                (PrCommand::Reserve { key: OTHER, rtype }, Notices::empty())
            }
            OtherAct::Release => match self.t.resv {
                Some((_, OTHER, rtype)) => (
                    PrCommand::Release { key: OTHER, rtype },
                    Notices::RESERVATIONS_RELEASED,
                ),
                _ => return,
            },
            OtherAct::Clear => (
                PrCommand::Clear { key: OTHER },
                Notices::RESERVATIONS_PREEMPTED,
            ),
            OtherAct::Preempt(rtype) => {
                let victim = self.key().unwrap_or(OURS);
                let notice = if self.t.resv.is_some_and(|r| r.1 == victim) {
                    Notices::RESERVATIONS_PREEMPTED
                } else {
                    Notices::REGISTRATIONS_PREEMPTED
                };
                (
                    PrCommand::Preempt {
                        key: OTHER,
                        victim,
                        rtype,
                        abort: false,
                    },
                    notice,
                )
            }
        };
        if !matches!(act, OtherAct::Register | OtherAct::Unregister)
            && self.t.key_of(OTHER_NEXUS).is_none()
        {
            self.t
                .exec(OTHER_NEXUS, PrCommand::Register { key: OTHER }, OTHER);
        }
        let had_resv = held_by_other(&self.t);
        let resv_before = self.t.resv;
        let key = self.key();
        let ours_held = |t: &Target| t.regs.iter().any(|r| Some(r.1) == key);
        let held_before = ours_held(&self.t);
        self.t.exec(OTHER_NEXUS, cmd, OTHER);
        if held_before && !ours_held(&self.t) {
            self.behind_fence = true;
        }
        self.t.settle();
        if self.t.resv != resv_before {
            self.resv_unknown = true;
        }
        let ours_after: BTreeSet<u32> = self
            .t
            .regs
            .iter()
            .filter(|r| r.0 != OTHER_NEXUS)
            .map(|r| r.0)
            .collect();
        let removed = !ours_before.is_subset(&ours_after);
        if removed {
            count("preempted by the other host");
            self.foreign_dirty = true;
            self.foreign_unverified = true;
        }
        // Unit attentions for the nexuses that lost something (or, for a
        // release, every registrant), on their next command.
        let released = had_resv && !held_by_other(&self.t);
        if removed || (released && notice == Notices::RESERVATIONS_RELEASED) {
            for (p, fp) in &self.fabric {
                if ua & (1 << (p.slot() % 8)) != 0 && ours_before.contains(&fp.nexus) {
                    *self.pending_ua.entry(fp.nexus).or_default() |= notice;
                }
            }
        }
    }

    fn submit(&mut self, write: bool, retries: u8, fast: bool) {
        let tag = self.next_tag;
        self.next_tag += 1;
        let io = if write {
            Io::write(tag, 4096, retries)
        } else {
            Io::read(tag, 4096, retries)
        };
        self.ios.insert(
            tag,
            IoRec {
                write,
                retries,
                quiesce: Vec::new(),
                st: St::Flight,
            },
        );
        let io = if fast {
            let expect = if write {
                self.expect_write_mask
            } else {
                self.expect_mask
            };
            let pre = self.pre();
            let mine = self.cursor.credits();
            match self.d.data_plane().submit(&mut self.cursor, io, self.now) {
                Ok(t) => {
                    self.dispatched(t, (expect, expect), pre.key, pre.fenced, "fast path");
                    self.check_state("data plane submit");
                    return;
                }
                Err(io) => {
                    if expect != 0 && (mine != 0 || pre.pool != 0) {
                        self.fail(
                            1,
                            format!(
                                "data plane refused I/O {tag} with paths {expect:#b} selectable and credits {mine}/{}",
                                pre.pool
                            ),
                        );
                    }
                    io
                }
            }
        } else {
            io
        };
        let pre = self.pre();
        let recovery = self.recovery_possible();
        let d = self.d.submit(io, self.now).unwrap();
        let failed_at_once = matches!(
            d,
            Disposition::Done {
                result: Err(IoError::NoPath),
                ..
            }
        );
        let queued = d == Disposition::Queued;
        self.disposition(tag, d, &pre, "submit");
        self.check_state("submit");
        // Invariant 4: Fail with nothing to wait for fails at once.
        if queued
            && self.cfg.no_path == NoPathPolicy::Fail
            && self.expect_mask == 0
            && !pre.gate.quiesced
            && !recovery
            && !self.recovery_possible()
        {
            self.fail(
                4,
                format!("I/O {tag} held under no_path Fail with no path and no recovery under way"),
            );
        }
        // Invariant 8: fenced I/O ends at once.
        if pre.fenced && !failed_at_once && !matches!(self.ios[&tag].st, St::Ended(_)) {
            self.fail(
                8,
                format!("I/O {tag} submitted while fenced was not failed"),
            );
        }
    }

    /// Whether a path may become usable without outside help (a pending
    /// probe, a re-read under way, a transition, a possible activation):
    /// the conditions under which `NoPathPolicy::Fail` still holds I/O.
    fn recovery_possible(&self) -> bool {
        let c = self.d.controller();
        let gate = self.gate();
        self.activation_retry
            || self.facts().iter().any(|f| {
                !f.admin
                    && (f.link == Link::Pending
                        || (f.link == Link::Up
                            && (c.refresh_pending(f.path) == Ok(true) || transitional(f.access)))
                        || (self.cfg.access.explicit_activation
                            && f.link == Link::Up
                            && (!gate.key_active || f.registered)
                            && matches!(
                                f.access,
                                AccessState::Standby | AccessState::NonOptimized
                            )))
            })
    }

    fn outcome_for(&self, f: &Flight, wanted: Outcome) -> Outcome {
        let link = self
            .fabric
            .get(&f.t.path())
            .filter(|fp| fp.nexus == f.nexus)
            .map(|fp| fp.link);
        match (link, f.fate) {
            (Some(FLink::Down), _) | (_, Fate::Down) => {
                Outcome::PathError(PathErrorKind::Transport)
            }
            (Some(FLink::Hang), _) | (_, Fate::Hang) => Outcome::PathError(PathErrorKind::Timeout),
            (_, Fate::Denied) => Outcome::PathError(PathErrorKind::AccessDenied),
            (_, Fate::Transitioning) => Outcome::PathError(PathErrorKind::Transitioning),
            (_, Fate::Conflict) => Outcome::ReservationConflict,
            (_, Fate::Landed) => wanted,
        }
    }

    fn complete(&mut self, pick: u8, wanted: Outcome, fast: bool) {
        if self.flights.is_empty() {
            return;
        }
        let n = self.flights.len();
        let f = self.flights.remove(n - 1 - pick as usize % n);
        let outcome = self.outcome_for(&f, wanted);
        let path = f.t.path();
        let tag = f.t.io().tag.0;
        let current = self.fabric.contains_key(&path);
        let ua = if self
            .fabric
            .get(&path)
            .is_some_and(|fp| fp.link == FLink::Up)
        {
            self.take_ua(f.nexus)
        } else {
            Notices::empty()
        };
        if fast && outcome == Outcome::Success && ua.is_empty() {
            let io = self
                .d
                .data_plane()
                .complete(&mut self.cursor, f.t, self.now)
                .unwrap();
            self.end(&io, "completed", Ok(()));
            self.check_state("data plane complete");
            return;
        }
        let mut pre = self.pre();
        // A preemption notice reaches the coordinator before the I/O is
        // routed: it is routed while the notice is checked (held).
        let pr = self.d.coordinator();
        if current && ua.intersects(PR_NOTICES) && pr.key().is_some() && !pr.is_fenced() {
            pre.gate.quiesced = true;
        }
        // A conflict while we hold a key is checked (READ KEYS, I/O held)
        // and the I/O held: for free if our own move caused it (started
        // before its PREEMPT was answered), else for one retry.
        let mut conflict_held = false;
        let own_conflict = self.own_removal_at.is_some_and(|t| f.t.started() <= t);
        if outcome == Outcome::ReservationConflict
            && current
            && pr.key().is_some()
            && !pr.is_fenced()
        {
            pre.gate.quiesced = true;
            self.verify_expected = true;
        }
        let rec = self.ios.get_mut(&tag).unwrap();
        let mut expect_exhausted = false;
        match outcome {
            Outcome::ReservationConflict
                if pre.key.is_some() && !pre.fenced && (own_conflict || rec.retries > 0) =>
            {
                if !own_conflict {
                    rec.retries -= 1;
                }
                rec.st = St::Held { ready: self.now };
                conflict_held = true;
            }
            Outcome::PathError(kind) => {
                if rec.write {
                    let until = self.now.saturating_add(self.cfg.quiesce_time);
                    rec.quiesce.push((path, until));
                }
                rec.st = St::Held {
                    ready: if rec.write {
                        self.now.saturating_add(self.cfg.quiesce_time)
                    } else {
                        self.now
                    },
                };
                if current {
                    match kind {
                        PathErrorKind::Transport
                        | PathErrorKind::Timeout
                        | PathErrorKind::PathingError => {
                            self.link.insert(path, Link::Down);
                        }
                        PathErrorKind::AccessDenied => {
                            self.suspect.insert(path);
                        }
                        PathErrorKind::Transitioning => {
                            let g = self.fabric[&path].group;
                            let r = self.reported.get_mut(&g).unwrap();
                            if !transitional(r.state) {
                                r.state = AccessState::Transitioning;
                            }
                        }
                        _ => {}
                    }
                }
            }
            Outcome::Retry { delay, .. } => {
                if rec.retries == 0 {
                    expect_exhausted = true;
                } else {
                    rec.retries -= 1;
                    rec.st = St::Held {
                        ready: self.now.saturating_add(delay),
                    };
                }
            }
            _ => {}
        }
        if current {
            self.expect_verify(path, ua);
        }
        let d = self
            .d
            .handle_completion(
                f.t,
                Completion {
                    outcome,
                    notices: ua,
                },
                self.now,
            )
            .unwrap();
        // The result must be the outcome's.
        if let Disposition::Done { result, .. } = &d {
            let fits = match (outcome, result) {
                (Outcome::Success, Ok(())) => true,
                (Outcome::TargetError(e), Err(IoError::Target(r))) => e == *r,
                (Outcome::ReservationConflict, Err(IoError::ReservationConflict)) => !conflict_held,
                (
                    Outcome::ReservationConflict,
                    Err(IoError::Fenced | IoError::HeadRemoved | IoError::NoPath),
                ) => conflict_held,
                (Outcome::Retry { .. }, Err(IoError::RetriesExhausted)) => expect_exhausted,
                (
                    Outcome::PathError(_) | Outcome::Retry { .. },
                    Err(IoError::NoPath | IoError::Fenced | IoError::HeadRemoved),
                ) => !expect_exhausted,
                _ => false,
            };
            if !fits {
                self.fail(
                    6,
                    format!("I/O {tag} completed with {outcome:?} ended as {result:?}"),
                );
            }
        } else if expect_exhausted {
            self.fail(6, format!("I/O {tag} retried with no retries left: {d:?}"));
        } else if matches!(outcome, Outcome::Success | Outcome::TargetError(_))
            || (outcome == Outcome::ReservationConflict && !conflict_held)
        {
            self.fail(1, format!("I/O {tag} completed with {outcome:?} but {d:?}"));
        }
        self.disposition(tag, d, &pre, "completion");
        self.check_state("completion");
    }

    fn advance_to(&mut self, t: Instant) {
        if t < self.now {
            return;
        }
        self.now = t;
        let expired: Vec<PathId> = self
            .probes_out
            .iter()
            .filter(|&(_, &d)| d <= t)
            .map(|(&p, _)| p)
            .collect();
        for p in expired {
            self.probes_out.remove(&p);
            self.link.insert(p, Link::Down);
        }
        self.d.handle_timeout(t).unwrap();
        self.check_state("handle_timeout");
    }

    // ----- one step -----

    fn apply(&mut self, op: &Op) {
        let now = self.now;
        self.failback_now = false;
        let holder_before = self.holder_alive();
        match *op {
            Op::AddPath { group, with_access } => self.add_path(group, with_access),
            Op::RemovePath { pick } => {
                if let Some(p) = self.pick(pick) {
                    self.remove_path(p);
                }
            }
            Op::Cut { pick, hang, tell } => {
                if let Some(p) = self.pick(pick) {
                    self.fabric.get_mut(&p).unwrap().link =
                        if hang { FLink::Hang } else { FLink::Down };
                    if tell {
                        self.link.insert(p, Link::Down);
                        self.d.handle_link(p, LinkEvent::Down, now).unwrap();
                        self.check_state("link down");
                    }
                }
            }
            Op::Heal { pick, tell } => {
                if let Some(p) = self.pick(pick) {
                    self.fabric.get_mut(&p).unwrap().link = FLink::Up;
                    if tell {
                        self.d.handle_link(p, LinkEvent::Up, now).unwrap();
                        self.check_state("link up");
                    }
                }
            }
            Op::NexusReplaced { pick } => {
                if let Some(p) = self.pick(pick) {
                    let nexus = self.next_nexus;
                    self.next_nexus += 1;
                    let fp = self.fabric.get_mut(&p).unwrap();
                    fp.nexus = nexus;
                    fp.link = FLink::Up;
                    self.d.nexus_replaced(p, nexus, now).unwrap();
                    self.check_state("nexus replaced");
                }
            }
            Op::Probe { pick, lie } => {
                if let Some(p) = self.pick(pick) {
                    let fp = self.fabric[&p];
                    let r = lie.unwrap_or_else(|| self.truth(&fp));
                    self.probe(p, r, "unsolicited probe");
                }
            }
            Op::Lie { pick, result } => {
                if let Some(p) = self.pick(pick) {
                    self.fabric.get_mut(&p).unwrap().lie = Some(result);
                }
            }
            Op::TargetAccess {
                group,
                state,
                pref,
                notify,
            } => {
                let g = GROUPS[group as usize % 3];
                self.groups.insert(g, (state, pref));
                match notify {
                    1 => {
                        let via = self
                            .fabric
                            .iter()
                            .find(|(_, f)| f.link == FLink::Up)
                            .map(|(&p, _)| p);
                        if let Some(p) = via {
                            self.notices(p, Notices::ACCESS_STATE_CHANGED, "access notice");
                        }
                    }
                    2 => {
                        for fp in self.fabric.values() {
                            *self.pending_ua.entry(fp.nexus).or_default() |=
                                Notices::ACCESS_STATE_CHANGED;
                        }
                    }
                    _ => {}
                }
            }
            Op::Notice { pick, notices } => {
                if let Some(p) = self.pick(pick) {
                    self.notices(p, notices, "notice");
                }
            }
            Op::Submit {
                write,
                retries,
                fast,
            } => self.submit(write, retries, fast),
            Op::Complete {
                pick,
                outcome,
                fast,
            } => self.complete(pick, outcome, fast),
            Op::Cancel { pick, any } => {
                let candidates: Vec<u64> = if any {
                    self.ios.keys().copied().collect()
                } else {
                    self.ios
                        .iter()
                        .filter(|(_, r)| matches!(r.st, St::Held { .. }))
                        .map(|(&t, _)| t)
                        .collect()
                };
                if let Some(&tag) = newest(&candidates, pick) {
                    let held = matches!(self.ios[&tag].st, St::Held { .. });
                    match self.d.cancel(IoTag(tag), now) {
                        Ok(io) if held => self.end(&io, "cancelled", Ok(())),
                        Ok(io) => {
                            self.fail(1, format!("cancelled I/O {tag} that was not held: {io:?}"))
                        }
                        Err(Error::UnknownIo(_)) if !held => {}
                        Err(e) => self.fail(1, format!("cancel of held I/O {tag}: {e:?}")),
                    }
                    self.check_state("cancel");
                }
            }
            Op::Failback => {
                self.d.failback(now).unwrap();
                self.failback_now = true;
                self.check_state("failback");
                self.failback_now = false;
            }
            Op::FailPath { pick } => {
                if let Some(p) = self.pick(pick) {
                    self.admin.insert(p);
                    self.d.fail_path(p, now).unwrap();
                    self.check_state("fail_path");
                }
            }
            Op::ReinstatePath { pick } => {
                if let Some(p) = self.pick(pick) {
                    self.admin.remove(&p);
                    self.d.reinstate_path(p, now).unwrap();
                    self.check_state("reinstate_path");
                }
            }
            Op::SetMarginal { pick } => {
                if let Some(p) = self.pick(pick) {
                    self.manual_marginal.insert(p);
                    self.d.set_marginal(p, now).unwrap();
                    self.check_state("set_marginal");
                }
            }
            Op::ClearMarginal { pick } => {
                if let Some(p) = self.pick(pick) {
                    self.manual_marginal.remove(&p);
                    self.d.clear_marginal(p, now).unwrap();
                    self.check_state("clear_marginal");
                }
            }
            Op::SwitchGroup { group } => {
                let g = group.map(|g| GroupId(GROUPS[g as usize % 3]));
                match self.d.switch_group(g, now) {
                    Ok(()) => self.switched = g.map(|g| g.0),
                    Err(Error::UnknownGroup(_)) => {}
                    Err(e) => self.fail(1, format!("switch_group: {e:?}")),
                }
                self.check_state("switch_group");
            }
            Op::Reservation(mut pr) => {
                // "Our own key" is whichever key we use now.
                if let PrOp::Preempt { victim, .. } = &mut pr {
                    if *victim == OURS {
                        *victim = self.key().unwrap_or(OURS);
                    }
                }
                self.reservation(pr);
            }
            Op::Other { act, ua } => self.other(act, ua),
            Op::Idle => {
                self.d.data_plane().park(&mut self.cursor);
                assert_eq!(self.cursor.unpublished(0), (0, 0), "parked");
                self.check_state("park");
            }
            Op::Advance { ms } => {
                self.advance_to(now.saturating_add(Duration::from_millis(ms.into())));
            }
            Op::AdvanceLarge { secs } => {
                self.advance_to(now.saturating_add(Duration::from_secs(secs.into())));
            }
            Op::ToTimeout => {
                let t = self
                    .d
                    .poll_timeout()
                    .unwrap_or(now.saturating_add(Duration::from_millis(100)));
                self.advance_to(t);
            }
        }
        self.drain();
        self.after_step(holder_before);
    }

    /// Whether our single-holder reservation's holder is a nexus the
    /// device can reach (`None`: no such reservation).
    fn holder_alive(&self) -> Option<bool> {
        let key = self.key()?;
        let (h, k, t) = self.t.resv?;
        if k != key || t.all_registrants() || self.d.coordinator().is_fenced() {
            return None;
        }
        Some(
            self.fabric
                .iter()
                .any(|(&p, fp)| fp.nexus == h && self.pr_usable(p)),
        )
    }

    /// Whether the device may send reservation commands on `p` (up, not
    /// failed by hand, not damped), as it was told.
    fn pr_usable(&self, p: PathId) -> bool {
        let damped = self
            .d
            .controller()
            .path_snapshot(p, &[])
            .is_ok_and(|s| s.health == Health::Damped);
        self.link[&p] == Link::Up && !self.admin.contains(&p) && !damped
    }

    /// The checks after a step's outputs were drained.
    fn after_step(&mut self, holder_before: Option<bool>) {
        let now = self.now;
        // The device's view of the reservation (key, type, holder nexus)
        // is the target's again: divergence from here on is its own.
        let single = |t: PrType| !t.all_registrants();
        let target = self.t.resv.map(|(h, k, t)| (k, t, single(t).then_some(h)));
        let holder = self
            .d
            .coordinator()
            .holder()
            .and_then(|h| self.fabric.get(&h))
            .map(|f| f.nexus);
        let view = self
            .key()
            .zip(self.d.coordinator().reservation())
            .map(|(k, t)| (k, t, single(t).then_some(holder).flatten()));
        if target == view || (target.map_or(true, |(k, ..)| k == OTHER) && view.is_none()) {
            self.resv_unknown = false;
        }
        let c = self.d.controller();
        let pr = self.d.coordinator();
        // 1: every I/O in flight, held or ended.
        let flight: BTreeSet<u64> = self.flights.iter().map(|f| f.t.io().tag.0).collect();
        for (tag, r) in &self.ios {
            let in_flight = flight.contains(tag);
            if in_flight != (r.st == St::Flight) {
                self.fail(
                    1,
                    format!("I/O {tag} is {:?}, in flight: {in_flight}", r.st),
                );
            }
        }
        // 10: a quiesce lasts only while reservation commands are out, or
        // while a move waits for a path it can go out on (none is up and
        // registered: the move would have nowhere to preempt from).
        let move_can_go = c
            .path_ids()
            .any(|p| pr.is_up(p) == Some(true) && pr.state(p) == Some(RegState::Registered));
        if pr.is_quiesced() && move_can_go {
            self.fail(
                10,
                "the device is still quiesced after every command was answered".into(),
            );
        }
        // 8: a reservation notice leads to READ KEYS.
        if self.verify_expected {
            let up = self.paths().iter().any(|&p| pr.is_up(p) == Some(true));
            if pr.key().is_some() && !pr.is_fenced() && up {
                self.fail(
                    8,
                    "a reservation notice reached the device and no READ KEYS followed".into(),
                );
            }
            self.verify_expected = false;
        }
        // 10: a reservation on a holder that died is moved while a live
        // registered path exists.
        let stranded = holder_before == Some(true) && self.holder_alive() == Some(false);
        if stranded {
            count("holder died");
            let key = pr.key();
            let viable = self.fabric.iter().find(|(p, fp)| {
                self.pr_usable(**p)
                    && fp.link == FLink::Up
                    && pr.state(**p) == Some(RegState::Registered)
                    && self.t.key_of(fp.nexus) == key
            });
            if let Some((p, _)) = viable {
                self.fail(
                    10,
                    format!(
                        "the reservation {:?} stayed on a nexus the device found down while {p:?} is up and registered; coordinator {:?}",
                        self.t.resv, self.d.coordinator()
                    ),
                );
            }
        }
        // 9: poll_timeout strictly ahead, and not later than what waits.
        let timeout = self.d.poll_timeout();
        if timeout.is_some_and(|t| t <= now) {
            self.fail(
                9,
                format!("poll_timeout {timeout:?} is not after now after every input was handled"),
            );
        }
        if !self.fabric.is_empty() && timeout.is_none() && !self.head_removed {
            self.fail(9, "paths present and no timer armed".into());
        }
        if let Some(&d) = self.probes_out.values().min() {
            if timeout.map_or(true, |t| t > d) {
                self.fail(
                    9,
                    format!("poll_timeout {timeout:?} is later than a probe deadline {d:?}"),
                );
            }
        }
        let held: Vec<(u64, Instant)> = self
            .ios
            .iter()
            .filter_map(|(&t, r)| match r.st {
                St::Held { ready } => Some((t, ready)),
                _ => None,
            })
            .collect();
        let mask = c.data_plane().selectable();
        if !held.is_empty() && !pr.is_quiesced() {
            if mask != 0 {
                let writable = c.data_plane().writable();
                let stuck = held.iter().find(|&&(tag, r)| {
                    let write = self.ios.get(&tag).is_some_and(|x| x.write);
                    r <= now && (!write || writable != 0)
                });
                if let Some((tag, _)) = stuck {
                    self.fail(
                        9,
                        format!("I/O {tag} is held though ready and paths {mask:#b} (writes {writable:#b}) are selectable (stuck)"),
                    );
                }
                let first = held.iter().map(|h| h.1).min().unwrap();
                if timeout.map_or(true, |t| t > first) {
                    self.fail(
                        9,
                        format!("held I/O is ready at {first:?} but poll_timeout is {timeout:?}"),
                    );
                }
            } else if !pr.is_fenced() {
                // 4: the no-path policy, on time. A write still in the
                // quiesce time of the path it failed on is the exception:
                // it may yet land, so it fails only when that time is over.
                let overdue: Vec<(u64, Instant)> =
                    held.iter().copied().filter(|&(_, r)| r <= now).collect();
                let quiescing = held.iter().map(|h| h.1).filter(|&r| r > now).min();
                let no_path_deadline = match self.cfg.no_path {
                    NoPathPolicy::Fail => Some(now),
                    NoPathPolicy::QueueFor(d) => {
                        Some(self.no_path_since.unwrap_or(now).saturating_add(d))
                    }
                    NoPathPolicy::Queue => None,
                };
                // It fails when both its quiesce and the policy's bound
                // are over: the device must be awake by then.
                if let (Some(q), Some(bound), false) =
                    (quiescing, no_path_deadline, self.recovery_possible())
                {
                    let fail_at = q.max(bound);
                    if timeout.map_or(true, |t| t > fail_at) {
                        self.fail(
                            9,
                            format!("a held write can fail at {fail_at:?} but poll_timeout is {timeout:?}"),
                        );
                    }
                }
                let held = overdue;
                match self.cfg.no_path {
                    NoPathPolicy::QueueFor(_) if held.is_empty() => {}
                    NoPathPolicy::Fail if held.is_empty() => {}
                    NoPathPolicy::QueueFor(d) => {
                        let deadline = self.no_path_since.unwrap_or(now).saturating_add(d);
                        if deadline <= now {
                            self.fail(
                                4,
                                format!(
                                    "{} I/O still held at {} ms, no path since {:?}, queue_for {} ms",
                                    held.len(),
                                    now.as_nanos() / 1_000_000,
                                    self.no_path_since,
                                    d.as_millis()
                                ),
                            );
                        }
                        if timeout.map_or(true, |t| t > deadline) {
                            self.fail(
                                9,
                                format!(
                                    "no-path deadline {deadline:?} but poll_timeout {timeout:?}"
                                ),
                            );
                        }
                    }
                    NoPathPolicy::Fail if !self.recovery_possible() => {
                        self.fail(
                            4,
                            format!(
                                "{} I/O held under no_path Fail with no path and no recovery under way",
                                held.len()
                            ),
                        );
                    }
                    _ => {}
                }
            }
        }
    }

    // ----- the end -----

    /// Heal everything, let every deadline pass, and require every I/O to
    /// end and every path to come back.
    fn finish(&mut self) {
        self.step += 1;
        STEP.with(|s| s.set(self.step));
        let paths = self.paths();
        for &p in &paths {
            self.fabric.get_mut(&p).unwrap().link = FLink::Up;
            self.fabric.get_mut(&p).unwrap().lie = None;
        }
        for g in GROUPS {
            let pref = self.groups[&g].1;
            self.groups.insert(g, (AccessState::Optimized, pref));
        }
        for &p in &paths {
            self.d.handle_link(p, LinkEvent::Up, self.now).unwrap();
            self.check_state("heal: link up");
            if self.admin.remove(&p) {
                self.d.reinstate_path(p, self.now).unwrap();
                self.check_state("heal: reinstate");
            }
            self.manual_marginal.remove(&p);
            self.d.clear_marginal(p, self.now).unwrap();
            self.check_state("heal: clear marginal");
        }
        if let Some(&p) = paths.first() {
            self.notices(p, Notices::ACCESS_STATE_CHANGED, "heal: access notice");
        }
        if self.switched.is_some() {
            self.d.switch_group(None, self.now).unwrap();
            self.switched = None;
            self.check_state("heal: switch back");
        }
        self.drain();
        for round in 0..200 {
            while !self.flights.is_empty() {
                self.complete(0, Outcome::Success, round % 2 == 0);
            }
            self.drain();
            if self.held() == 0 && self.flights.is_empty() && round > 20 {
                break;
            }
            let t = self
                .d
                .poll_timeout()
                .unwrap_or(self.now)
                .max(self.now.saturating_add(Duration::from_secs(10)));
            self.advance_to(t);
            self.drain();
            if round == 199 {
                self.fail(
                    1,
                    format!(
                        "{} I/O still held and {} in flight after healing",
                        self.held(),
                        self.flights.len()
                    ),
                );
            }
        }
        // Every I/O ended.
        for (tag, r) in &self.ios {
            if !matches!(r.st, St::Ended(_)) {
                self.fail(1, format!("I/O {tag} never ended: {:?}", r.st));
            }
        }
        // The published counts and the two cursors' parts sum to nothing
        // outstanding, exactly.
        let dp = self.d.data_plane();
        for slot in 0..8 {
            let (mut ios, mut bytes) = dp.published_load(slot);
            for c in [&self.cursor, self.d.controller().cursor()] {
                let (i, b) = c.unpublished(slot);
                ios += i;
                bytes += b;
            }
            assert_eq!((ios, bytes), (0, 0), "in-flight count of slot {slot}");
        }
        // Every path came back, unless another host fenced us out.
        if !self.d.coordinator().is_fenced() && !self.head_removed {
            for p in self.paths() {
                let tier = self.d.controller().tier(p).unwrap();
                if tier != Tier::Optimized {
                    self.fail(
                        10,
                        format!(
                            "{p:?} is {tier:?} after healing (coordinator state {:?})",
                            self.d.coordinator().state(p)
                        ),
                    );
                }
            }
        }
    }
}

/// Coverage, printed with `DEVICE_PROPS_STATS=1`: how often each thing
/// the invariants guard actually happened.
static STATS: std::sync::Mutex<BTreeMap<&'static str, u64>> =
    std::sync::Mutex::new(BTreeMap::new());

fn trace(what: std::fmt::Arguments<'_>) {
    if std::env::var("DEVICE_PROPS_TRACE").is_ok() {
        eprintln!("{what}");
    }
}

fn count(what: &'static str) {
    *STATS.lock().unwrap().entry(what).or_default() += 1;
}

fn run(setup: &Setup, ops: &[Op]) {
    let mut sim = Sim::new(setup);
    sim.drain();
    sim.after_step(None);
    trace(format_args!("=== new case {setup:?}"));
    for (i, op) in ops.iter().enumerate() {
        sim.step = i + 1;
        STEP.with(|s| s.set(i + 1));
        trace(format_args!(
            "step {} t={}ms: {op:?}",
            i + 1,
            sim.now.as_nanos() / 1_000_000
        ));
        sim.apply(op);
    }
    sim.finish();
    count("cases");
}

thread_local! {
    /// The step the running case is at (its length + 1 while finishing).
    static STEP: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Run a case; the panic message if it fails.
fn failure(setup: &Setup, ops: &[Op]) -> Option<String> {
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(setup, ops)));
    let e = r.err()?;
    Some(
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default(),
    )
}

/// Simpler forms of an op for the minimizer: picks of the newest thing,
/// no fast path.
fn simpler(op: &Op) -> Vec<Op> {
    let picks = |p: u8| (0..p.min(4)).collect::<Vec<u8>>();
    match op.clone() {
        Op::Complete {
            pick,
            outcome,
            fast,
        } => {
            let mut v: Vec<Op> = picks(pick)
                .into_iter()
                .map(|pick| Op::Complete {
                    pick,
                    outcome,
                    fast,
                })
                .collect();
            if fast {
                v.push(Op::Complete {
                    pick,
                    outcome,
                    fast: false,
                });
            }
            v
        }
        Op::Submit {
            write,
            retries,
            fast: true,
        } => {
            vec![Op::Submit {
                write,
                retries,
                fast: false,
            }]
        }
        Op::RemovePath { pick } => picks(pick)
            .into_iter()
            .map(|pick| Op::RemovePath { pick })
            .collect(),
        Op::Cut { pick, hang, tell } => picks(pick)
            .into_iter()
            .map(|pick| Op::Cut { pick, hang, tell })
            .collect(),
        Op::Heal { pick, tell } => picks(pick)
            .into_iter()
            .map(|pick| Op::Heal { pick, tell })
            .collect(),
        Op::Probe { pick, lie } => picks(pick)
            .into_iter()
            .map(|pick| Op::Probe { pick, lie })
            .collect(),
        Op::FailPath { pick } => picks(pick)
            .into_iter()
            .map(|pick| Op::FailPath { pick })
            .collect(),
        Op::Cancel { pick, any } => picks(pick)
            .into_iter()
            .map(|pick| Op::Cancel { pick, any })
            .collect(),
        Op::Other { act, ua } if ua != 0xff => vec![Op::Other { act, ua: 0xff }],
        _ => Vec::new(),
    }
}

fn invariant(msg: &str) -> &str {
    msg.split(" broken").next().unwrap_or(msg)
}

/// proptest deletes each op once, before it shrinks the rest, so ops
/// after the failing step shrink into noise (the first `Op` variant). Cut
/// the case at the failing step and delete ops until none can go with the
/// same invariant still broken; then simplify the set-up the same way.
fn minimize(mut setup: Setup, mut ops: Vec<Op>) -> (Setup, Vec<Op>, String) {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut msg = failure(&setup, &ops).unwrap_or_default();
    ops.truncate(STEP.with(|s| s.get()));
    let same =
        |s: &Setup, o: &[Op], msg: &str| failure(s, o).filter(|m| invariant(m) == invariant(msg));
    loop {
        let mut smaller = false;
        for i in (0..ops.len()).rev() {
            let mut fewer = ops.clone();
            fewer.remove(i);
            if let Some(m) = same(&setup, &fewer, &msg) {
                ops = fewer;
                msg = m;
                smaller = true;
            }
        }
        for i in 0..ops.len() {
            for simpler in simpler(&ops[i]) {
                let mut o = ops.clone();
                o[i] = simpler;
                if let Some(m) = same(&setup, &o, &msg) {
                    ops = o;
                    msg = m;
                    smaller = true;
                    break;
                }
            }
        }
        for i in (0..setup.paths.len()).rev() {
            let mut s = setup.clone();
            s.paths.remove(i);
            if !s.paths.is_empty() {
                if let Some(m) = same(&s, &ops, &msg) {
                    setup = s;
                    msg = m;
                    smaller = true;
                }
            }
        }
        if setup.register {
            let s = Setup {
                register: false,
                ..setup.clone()
            };
            if let Some(m) = same(&s, &ops, &msg) {
                setup = s;
                msg = m;
                smaller = true;
            }
        }
        if !smaller {
            break;
        }
    }
    std::panic::set_hook(hook);
    (setup, ops, msg)
}

#[test]
fn device_against_target_model() {
    use proptest::test_runner::{Config, TestError, TestRunner};
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    // CI runs one fixed, reproducible set of cases; exploring is a matter
    // of `PROPTEST_RNG_SEED=<n>` (or `random`) and more `PROPTEST_CASES`,
    // and what it finds is fixed and kept as a `known_bug_*` replay.
    let rng_seed = match std::env::var("PROPTEST_RNG_SEED").as_deref() {
        Ok("random") => proptest::test_runner::RngSeed::Random,
        Ok(n) => n
            .parse()
            .map(proptest::test_runner::RngSeed::Fixed)
            .unwrap_or_else(|_| panic!("PROPTEST_RNG_SEED={n}: a number or `random`")),
        Err(_) => proptest::test_runner::RngSeed::Fixed(0x6d70_6174_6800),
    };
    let mut runner = TestRunner::new(Config {
        cases,
        max_shrink_iters: 4096,
        source_file: Some(file!()),
        rng_seed,
        ..Config::default()
    });
    let strategy = (setup(), proptest::collection::vec(op(), 1..100));
    let result = runner.run(&strategy, |(setup, ops)| {
        run(&setup, &ops);
        Ok(())
    });
    if std::env::var("DEVICE_PROPS_STATS").is_ok() {
        for (what, n) in STATS.lock().unwrap().iter() {
            eprintln!("{n:>8}  {what}");
        }
    }
    match result {
        Ok(()) => {}
        Err(TestError::Fail(_, (setup, ops))) => {
            let (setup, ops, msg) = minimize(setup, ops);
            let steps: Vec<String> = ops
                .iter()
                .enumerate()
                .map(|(i, op)| format!("  {:>3}. {op:?}", i + 1))
                .collect();
            panic!(
                "{msg}\n\nminimal failing case ({} steps):\n{setup:?}\n{}",
                ops.len(),
                steps.join("\n")
            );
        }
        Err(e) => panic!("{e}"),
    }
}

// ----- replays of the bugs this test found -----
//
// All fixed; they run as regression tests. `DEVICE_PROPS_TRACE=1` prints
// every step and action.

fn base() -> Setup {
    Setup {
        no_path: NoPathPolicy::Fail,
        failback: Failback::Immediate,
        quiesce: Duration::from_millis(20),
        explicit_activation: false,
        flap_damping: false,
        policy: Policy::RoundRobin,
        groups: [(AccessState::Optimized, false); 3],
        paths: vec![0, 0],
        register: true,
        full_status: false,
    }
}

/// Invariant 7: a write through a registered nexus that does not hold our
/// Write Exclusive reservation.
#[test]
fn known_bug_1_single_holder_types_admit_every_registered_path() {
    use Op::*;
    let ops = [
        Reservation(PrOp::Reserve(PrType::WriteExclusive)),
        Submit {
            write: true,
            retries: 0,
            fast: false,
        },
        Submit {
            write: true,
            retries: 0,
            fast: false,
        },
    ];
    // Fixed: the data plane has a write mask, and under Write Exclusive
    // only the holder's nexus is in it.
    run(&base(), &ops);
}

/// Invariant 10: the holder's nexus is replaced while the other path is
/// failed by hand; the move finds no registered path and is dropped.
#[test]
fn known_bug_2_move_without_a_registered_path_is_dropped() {
    use Op::*;
    let ops = [
        Reservation(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly)),
        FailPath { pick: 0 },
        NexusReplaced { pick: 1 },
    ];
    run(&base(), &ops);
}

/// Invariant 9: the move ends inside `poll_action` (no path to send on);
/// the controller stays quiesced, so `poll_timeout` misses the no-path
/// deadline of the held read.
#[test]
fn known_bug_3_controller_keeps_a_quiesce_the_coordinator_ended() {
    use Op::*;
    let setup = Setup {
        no_path: NoPathPolicy::QueueFor(Duration::from_secs(5)),
        ..base()
    };
    let ops = [
        Reservation(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly)),
        FailPath { pick: 0 },
        // A passing probe: its next one is 10 s away, past the deadline.
        Probe { pick: 0, lie: None },
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
        Cut {
            pick: 1,
            hang: true,
            tell: false,
        },
        Complete {
            pick: 0,
            outcome: Outcome::Success,
            fast: false,
        },
    ];
    run(&setup, &ops);
}

/// Invariant 7: Unregister leaves the replaced nexus's registration, and
/// with it our all-registrants reservation; unregistered reads conflict.
#[test]
fn known_bug_4a_unregister_leaves_a_replaced_nexus_registered() {
    use Op::*;
    let ops = [
        Reservation(PrOp::Reserve(PrType::ExclusiveAccessAllRegistrants)),
        NexusReplaced { pick: 0 },
        Reservation(PrOp::Unregister),
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
    ];
    // Fixed: Unregister takes our registrations over with a PREEMPT of our
    // own key (which removes them wherever they are), then unregisters
    // that one nexus.
    run(&base(), &ops);
}

/// Invariant 2: another host preempts us unnoticed; a path added since
/// registers our key again and a removed one leaves its registration, so
/// READ KEYS after the notice counts as many keys as registered paths and
/// the path that lost its registration keeps carrying I/O.
#[test]
fn known_bug_4b_left_registrations_fool_the_preemption_check() {
    // Fixed: a new nexus looks (READ KEYS) before it registers, and none
    // of ours left means fenced; fewer than registered means fenced too.
    use Op::*;
    let ops = [
        Other {
            act: OtherAct::Preempt(PrType::WriteExclusive),
            ua: 0b10,
        },
        RemovePath { pick: 1 },
        AddPath {
            group: 0,
            with_access: false,
        },
        AddPath {
            group: 0,
            with_access: false,
        },
        RemovePath { pick: 0 },
        AdvanceLarge { secs: 5 },
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
    ];
    run(&base(), &ops);
}

/// Invariant 10: a PREEMPT of a key that holds nothing changes no
/// reservation, yet the device reports the PREEMPT's type as held.
#[test]
fn known_bug_5_registrations_only_preempt_taken_for_a_type_change() {
    use Op::*;
    let ops = [
        Reservation(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly)),
        Reservation(PrOp::Preempt {
            victim: OTHER,
            rtype: PrType::WriteExclusiveAllRegistrants,
            abort: false,
        }),
    ];
    run(&base(), &ops);
}

/// Invariant 10: the holder's nexus stops answering during a type change;
/// the change succeeds elsewhere and the queued move restores the old
/// type.
#[test]
fn known_bug_6_queued_move_restores_the_old_type() {
    use Op::*;
    let setup = Setup {
        paths: vec![0, 0, 0],
        ..base()
    };
    let ops = [
        Reservation(PrOp::Reserve(PrType::ExclusiveAccessRegistrantsOnly)),
        Cut {
            pick: 2,
            hang: false,
            tell: false,
        },
        Reservation(PrOp::Preempt {
            victim: OURS,
            rtype: PrType::WriteExclusiveRegistrantsOnly,
            abort: false,
        }),
    ];
    run(&setup, &ops);
}

/// Invariant 9: an activation repeated at the same instant while its
/// re-read waits out a retry delay; `poll_action` never returns `None`.
#[test]
fn known_bug_7_activation_repeated_while_its_reread_waits() {
    use Op::*;
    let setup = Setup {
        explicit_activation: true,
        paths: vec![0, 2],
        register: false,
        ..base()
    };
    let ops = [
        Cut {
            pick: 0,
            hang: false,
            tell: false,
        },
        Notice {
            pick: 0,
            notices: Notices::ACCESS_STATE_CHANGED,
        },
        TargetAccess {
            group: 2,
            state: AccessState::Standby,
            pref: false,
            notify: 0,
        },
        Heal {
            pick: 0,
            tell: false,
        },
        TargetAccess {
            group: 0,
            state: AccessState::Offline,
            pref: false,
            notify: 1,
        },
    ];
    run(&setup, &ops);
}

/// Invariants 2 and 5: under Exclusive Access reads go to the holder's
/// nexus alone, even when it is in a non-preferred group and another
/// registered path is in the preferred one.
#[test]
fn exclusive_access_reads_go_to_the_holder_outside_the_preferred_group() {
    use Op::*;
    let setup = Setup {
        paths: vec![0],
        register: false,
        groups: [
            (AccessState::Optimized, false),
            (AccessState::Optimized, false),
            (AccessState::Optimized, true),
        ],
        ..base()
    };
    let ops = [
        Reservation(PrOp::Register(OURS)),
        AddPath {
            group: 2,
            with_access: true,
        },
        Reservation(PrOp::Reserve(PrType::ExclusiveAccess)),
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
        Submit {
            write: true,
            retries: 0,
            fast: true,
        },
    ];
    run(&setup, &ops);
}

/// Invariant 9: our Write Exclusive holder's group goes offline after
/// another host preempted us unseen with an all-registrants type. The move
/// off the stranded holder must not loop (release, conflict, move again):
/// an all-registrants reservation needs no move, and a move the target
/// refuses leads to a check of our keys.
#[test]
fn a_stranded_holder_after_an_unseen_preemption_does_not_loop() {
    use Op::*;
    let setup = Setup {
        paths: vec![2, 0],
        ..base()
    };
    let ops = [
        Reservation(PrOp::Reserve(PrType::WriteExclusive)),
        Other {
            act: OtherAct::Preempt(PrType::WriteExclusiveAllRegistrants),
            ua: 0,
        },
        TargetAccess {
            group: 2,
            state: AccessState::Offline,
            pref: false,
            notify: 1,
        },
    ];
    run(&setup, &ops);
}

/// Invariant 7: the holder's nexus is cut unseen when the key changes;
/// its registration kept the old key, and with it our Write Exclusive
/// reservation, so writes under the new key conflicted.
#[test]
fn known_bug_8_a_new_key_leaves_the_old_one_behind() {
    use Op::*;
    let setup = Setup {
        paths: vec![1, 0, 0],
        ..base()
    };
    let ops = [
        Reservation(PrOp::Reserve(PrType::WriteExclusive)),
        Cut {
            pick: 2,
            hang: false,
            tell: false,
        },
        Reservation(PrOp::Register(OURS2)),
        Reservation(PrOp::Preempt {
            victim: OTHER,
            rtype: PrType::WriteExclusive,
            abort: false,
        }),
    ];
    // Fixed: a new key starts with a PREEMPT of the old one from a
    // registered nexus, which removes it wherever it is registered.
    run(&setup, &ops);
}

/// Fixed (invariant 7): our only path's nexus is replaced while its group
/// is transitioning (no path reachable); Unregister had nothing to
/// PREEMPT our key from, dropped the key, and the old nexus kept our
/// registration and our all-registrants reservation, so reads without a
/// key conflicted. Unregister with no path up is now refused (NoPath),
/// nothing changed; with a path up but none registered, that path
/// registers first and takes the others over.
#[test]
fn known_bug_8b_unregister_with_no_registered_path_leaves_the_old_nexus() {
    use Op::*;
    let setup = Setup {
        paths: vec![0],
        ..base()
    };
    let ops = [
        Reservation(PrOp::Reserve(PrType::ExclusiveAccessAllRegistrants)),
        TargetAccess {
            group: 0,
            state: AccessState::Transitioning,
            pref: false,
            notify: 0,
        },
        NexusReplaced { pick: 0 },
        Reservation(PrOp::Unregister),
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
    ];
    run(&setup, &ops);
}

/// Fixed (invariant 7), found while fixing 8b: a key change whose
/// takeover (PREEMPT of the old key) failed on the only path, cut without
/// a word, fell back to registering the new key nexus by nexus; the old
/// key's registration and its Exclusive Access reservation stayed on that
/// nexus, and a new path, registering the new key at once (nothing of it
/// registered anywhere yet, so no look first), read into our own
/// reservation. (Before that rule the new path's look found none of the
/// new key and fenced the device, wrongly but without a conflict.) Now
/// the key change is refused (NoPath), the old key kept; the new path
/// joins it.
#[test]
fn known_bug_9_a_key_change_with_no_path_left_keeps_the_old_reservation() {
    use Op::*;
    let setup = Setup {
        paths: vec![0],
        register: false,
        ..base()
    };
    let ops = [
        AddPath {
            group: 0,
            with_access: false,
        },
        RemovePath { pick: 0 },
        Reservation(PrOp::Register(OURS)),
        Reservation(PrOp::Reserve(PrType::ExclusiveAccess)),
        Cut {
            pick: 0,
            hang: false,
            tell: false,
        },
        Reservation(PrOp::Register(OURS2)),
        AddPath {
            group: 0,
            with_access: false,
        },
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
    ];
    run(&setup, &ops);
}

/// Fixed (invariant 8, found once the model tracked the fence's truth): the
/// only path's nexus is replaced and not yet reachable; the key changes to
/// OURS2 and back to OURS with no path up, each change going "nexus by
/// nexus" and forgetting that OURS was registered (on the old nexus);
/// another host preempts OURS; a new path then registered OURS at once,
/// without a look, and read behind the fence. Key changes with no path up
/// are now refused (NoPath), the key kept, so the new path looks first,
/// finds none of ours, and the device is fenced.
#[test]
fn known_bug_10_key_changes_with_no_path_up_forgot_a_registration() {
    use Op::*;
    let setup = Setup {
        paths: vec![0],
        groups: [
            (AccessState::Change, false),
            (AccessState::Optimized, false),
            (AccessState::Optimized, false),
        ],
        ..base()
    };
    let ops = [
        NexusReplaced { pick: 0 },
        Reservation(PrOp::Register(OURS2)),
        Reservation(PrOp::Register(OURS)),
        Other {
            act: OtherAct::Preempt(PrType::WriteExclusive),
            ua: 255,
        },
        AddPath {
            group: 0,
            with_access: false,
        },
        Submit {
            write: false,
            retries: 0,
            fast: false,
        },
    ];
    run(&setup, &ops);
}
