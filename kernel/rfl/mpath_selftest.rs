// SPDX-License-Identifier: GPL-2.0

//! mpath-core inside the kernel: a Rust-for-Linux module that links the
//! core as a crate (no C ABI in between) and, when loaded, drives a
//! multipath [`Device`] against a model logical unit ([`lun::Lun`]) on a
//! virtual clock, printing one `ok`/`FAIL` line per check and a summary.
//! A failed check fails the load (`EINVAL`), so a module that loads is one
//! whose checks passed; `mpath-qemu/tests/rfl_module.rs` reads the lines.
//!
//! What it covers, each on a fresh device: selection under every policy
//! (every pick lands on an eligible path, and each policy does what it is
//! for), failover with write quiesce, an ALUA transition away and back, and
//! a reservation moved by the coordinator when its holder's path dies.

mod lun;

use core::fmt;
use core::mem::size_of;

use kernel::prelude::*;
use lun::Lun;
use mpath_core::reservation::{PrEvent, PrOp, PrType, RegistrationScope};
use mpath_core::{
    AccessState, Action, Config, Cursor, DataPlane, Device, DeviceEvent, Disposition, Duration,
    GroupAccess, GroupId, Instant, Io, IoTag, Locality, NexusId, NoPathPolicy, Outcome,
    PathErrorKind, PathId, PathSpec, Policy, ProbeResult, SelectorParams, Tier,
};

module! {
    type: MpathRfl,
    name: "mpath_rfl",
    author: "mpath developers",
    description: "mpath-core self-test in the kernel (Rust for Linux)",
    license: "GPL",
}

/// Paths per device: one per nexus of the model.
const N: usize = lun::NEXUSES;
/// A device as the self-test uses it: 4 paths, a requeue of 16, 4 groups.
type Dev = Device<DataPlane<N>, N, 16, 4>;
/// Our reservation key.
const OURS: u64 = 0xA1;

/// The device is about 4 KiB: it lives in a [`KBox`], not on the 16 KiB
/// kernel stack; the bound keeps a core that grows from creeping back.
const _: () = assert!(size_of::<Dev>() <= 8192);

fn ms(v: u64) -> Instant {
    Instant::from_nanos(v.saturating_mul(1_000_000))
}

fn us(v: u64) -> Instant {
    Instant::from_nanos(v.saturating_mul(1_000))
}

/// The module: nothing stays loaded but the result.
struct MpathRfl {
    passed: u32,
}

impl kernel::Module for MpathRfl {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        pr_info!(
            "selftest: start (device {} bytes, built in a KBox)\n",
            size_of::<Dev>()
        );
        let mut c = Checks::default();
        let scenarios: [(&str, Scenario); 4] = [
            ("selection", selection),
            ("failover", failover),
            ("alua", alua),
            ("reservation", reservation),
        ];
        for (name, run) in scenarios {
            if let Err(Stop(what)) = run(&mut c) {
                c.check(name, false, format_args!("stopped: {what}"));
            }
        }
        pr_info!("selftest: {} passed, {} failed\n", c.passed, c.failed);
        if c.failed > 0 {
            return Err(EINVAL);
        }
        Ok(MpathRfl { passed: c.passed })
    }
}

impl Drop for MpathRfl {
    fn drop(&mut self) {
        pr_info!("selftest: unloaded ({} checks had passed)\n", self.passed);
    }
}

// ----- checks -----

/// Pass and fail counts; every check prints its line.
#[derive(Default)]
struct Checks {
    passed: u32,
    failed: u32,
}

impl Checks {
    fn check(&mut self, name: &str, ok: bool, detail: fmt::Arguments<'_>) {
        if ok {
            self.passed = self.passed.saturating_add(1);
            pr_info!("selftest: ok {} ({})\n", name, detail);
        } else {
            self.failed = self.failed.saturating_add(1);
            pr_err!("selftest: FAIL {} ({})\n", name, detail);
        }
    }
}

/// Go on with `r`'s value, or stop the scenario: no memory.
fn alloc<T>(r: core::result::Result<T, kernel::alloc::AllocError>) -> Step<T> {
    r.map_err(|_| {
        pr_err!("selftest: out of memory\n");
        Stop("out of memory")
    })
}

/// A scenario that could not go on: an input the core refused, or no
/// memory. Its name is printed as a failed check.
struct Stop(&'static str);

type Step<T = ()> = core::result::Result<T, Stop>;

/// One scenario: its checks go into the counts.
type Scenario = fn(&mut Checks) -> Step;

/// Go on with `r`'s value, or stop the scenario, printing the error.
fn must<T, E: fmt::Display>(what: &'static str, r: core::result::Result<T, E>) -> Step<T> {
    r.map_err(|e| {
        pr_err!("selftest: {}: {}\n", what, e);
        Stop(what)
    })
}

// ----- the rig: a device, its logical unit, and what came out -----

/// A device in a box, the logical unit behind it, and what the device
/// asked for while the rig carried out its actions.
struct Rig {
    d: KBox<Dev>,
    lun: Lun,
    /// Held I/O the device dispatched: (tag, path).
    dispatched: KVec<(IoTag, PathId)>,
    /// I/O the device failed upward.
    failed: KVec<IoTag>,
    /// Paths reported failed.
    path_failed: KVec<PathId>,
    /// Where the reservation moved to, if it did.
    moved_to: Option<PathId>,
    /// Reservation operations that finished well.
    finished_ok: KVec<PrOp>,
}

impl Rig {
    /// A device with `cfg` and one path per `(group, locality, relative
    /// throughput)`, its actions carried out at time 0.
    fn new(cfg: Config, paths: &[(usize, u32, u8)]) -> Step<(Rig, KVec<PathId>)> {
        // Built in the box (`Device::new_in`), not on the stack and moved:
        // `Device::new` returns the device by value, and its constructors'
        // frames each hold a copy.
        let mut boxed = alloc(KBox::<Dev>::new_uninit(GFP_KERNEL))?;
        must(
            "Device::new_in",
            Dev::new_in(&mut boxed, DataPlane::new(), cfg, RegistrationScope::Nexus).map(|_| ()),
        )?;
        // SAFETY: `new_in` returned `Ok`, so it wrote a whole device into
        // the box.
        let boxed = unsafe { boxed.assume_init() };
        let mut rig = Rig {
            d: boxed,
            lun: Lun::new(),
            dispatched: KVec::new(),
            failed: KVec::new(),
            path_failed: KVec::new(),
            moved_to: None,
            finished_ok: KVec::new(),
        };
        let mut ids = KVec::new();
        for (i, &(group, locality, rt)) in paths.iter().enumerate() {
            let (gid, access) = rig.lun.group(group);
            let nexus = u32::try_from(i).unwrap_or(u32::MAX);
            let spec = PathSpec::new(gid, NexusId(nexus))
                .with_access(access)
                .with_locality(Locality(locality))
                .with_relative_throughput(rt);
            let p = must(
                "add_path",
                rig.d.add_path(spec, nexus, ms(0)).map_err(|r| r.error),
            )?;
            alloc(ids.push(p, GFP_KERNEL))?;
        }
        rig.run(ms(0))?;
        Ok((rig, ids))
    }

    /// Carry out every action the device has at `now`, as an embedder
    /// would: probes and re-reads answered from the logical unit, held I/O
    /// sent (and completed well, or with a path error where the unit's
    /// nexus is down), reservation commands executed; then drain events.
    fn run(&mut self, now: Instant) -> Step {
        // A bound instead of a loop that trusts the core to go quiet.
        for _ in 0..256 {
            let Some(action) = self.d.poll_action() else {
                break;
            };
            match action {
                Action::Probe(p) => {
                    let r = if self.lun.is_up(Lun::nexus(p)) {
                        ProbeResult::Up
                    } else {
                        ProbeResult::Down
                    };
                    must("handle_probe", self.d.handle_probe(p, r, now))?;
                }
                Action::RefreshAccessState { via } => {
                    for k in 0..lun::GROUPS.len() {
                        let (g, a) = self.lun.group(k);
                        must("handle_access_state", self.d.handle_access_state(g, a, now))?;
                    }
                    let ok = self.lun.is_up(Lun::nexus(via));
                    must(
                        "handle_refresh_result",
                        self.d.handle_refresh_result(via, ok, now),
                    )?;
                }
                Action::Dispatch(t) => {
                    alloc(self.dispatched.push((t.io().tag, t.path()), GFP_KERNEL))?;
                    let outcome = if self.lun.is_up(Lun::nexus(t.path())) {
                        Outcome::Success
                    } else {
                        Outcome::PathError(PathErrorKind::Transport)
                    };
                    let d = self.d.handle_completion(t, outcome.into(), now);
                    let _ = must("handle_completion", d.map_err(|r| r.error))?;
                }
                Action::Fail { io, .. } => alloc(self.failed.push(io.tag, GFP_KERNEL))?,
                Action::Reservation(pa) => {
                    let ours = self.d.coordinator().key().unwrap_or(OURS);
                    let reply = self.lun.exec(Lun::nexus(pa.via), pa.command, ours);
                    must(
                        "handle_reservation_reply",
                        self.d.handle_reservation_reply(pa.via, reply, now),
                    )?;
                }
                // No explicit activation is configured; the rest are
                // notes for an embedder that tracks the head.
                _ => {}
            }
        }
        while let Some(e) = self.d.poll_event() {
            match e {
                DeviceEvent::PathFailed(p) => alloc(self.path_failed.push(p, GFP_KERNEL))?,
                DeviceEvent::Reservation(PrEvent::Moved { holder }) => self.moved_to = Some(holder),
                DeviceEvent::Reservation(PrEvent::Finished { op, result: Ok(_) }) => {
                    alloc(self.finished_ok.push(op, GFP_KERNEL))?
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Submit on the data plane with `cursor`; the path it went to.
    fn start(&self, cursor: &mut Cursor<N>, io: Io, now: Instant) -> Step<mpath_core::Ticket> {
        self.d
            .data_plane()
            .submit(cursor, io, now)
            .map_err(|_| Stop("data plane found no path"))
    }

    /// Complete a ticket well on the data plane.
    fn finish(&self, cursor: &mut Cursor<N>, t: mpath_core::Ticket, now: Instant) -> Step {
        let r = self.d.data_plane().complete(cursor, t, now);
        must("complete", r.map(drop).map_err(|r| r.error))
    }

    /// Which of `paths` (bit per slot) are on the active tier.
    fn active_mask(&self, paths: &[PathId]) -> u64 {
        let active = self.d.controller().active_tier();
        paths
            .iter()
            .filter(|&&p| {
                self.d
                    .tier(p)
                    .is_ok_and(|t| Some(t) == active && t != Tier::Ineligible)
            })
            .fold(0, |m, &p| m | bit(p))
    }
}

fn bit(p: PathId) -> u64 {
    1u64.checked_shl(u32::try_from(p.slot()).unwrap_or(u32::MAX))
        .unwrap_or(0)
}

/// Bits of `paths` by index, for messages and comparisons.
fn mask_of(paths: &[PathId]) -> u64 {
    paths.iter().fold(0, |m, &p| m | bit(p))
}

fn slot_of(paths: &[PathId], p: PathId) -> usize {
    paths.iter().position(|&q| q == p).unwrap_or(usize::MAX)
}

// ----- selection -----

/// Three paths in group 1 (active/optimized) and one in group 2
/// (active/non-optimized), under each policy of [`Policy::ALL`]: every pick
/// is on the active tier, and the policy-specific behaviour shows.
fn selection(c: &mut Checks) -> Step {
    for policy in Policy::ALL {
        // Path 0: node 1, throughput 100; paths 1, 2: node 0 and 1,
        // throughput 50; path 3: the non-optimized group.
        let (mut rig, paths) = Rig::new(
            Config::DEFAULT,
            &[(0, 1, 100), (0, 0, 50), (0, 1, 50), (1, 0, 50)],
        )?;
        must(
            "set_policy",
            rig.d.set_policy(policy, SelectorParams::DEFAULT, ms(1)),
        )?;
        let eligible = rig.active_mask(&paths);
        let expected = mask_of(paths.get(..3).unwrap_or(&[]));
        let mut cursor = Cursor::<N>::new(Locality(0));
        // Which path each of 12 I/Os took, per slot of `paths`.
        let mut picks = [usize::MAX; 12];
        let mut counts = [0u32; N];
        let mut off_tier = 0u32;
        let mut now = us(2_000);
        let held = hold_pattern(policy);
        let mut in_flight = KVec::new();
        for (k, pick) in picks.iter_mut().enumerate() {
            let bytes = if policy == Policy::QueueBytes && k == 0 {
                1 << 20
            } else {
                4096
            };
            let t = rig.start(&mut cursor, Io::read(k as u64, bytes, 0), now)?;
            let p = t.path();
            *pick = slot_of(&paths, p);
            if let Some(n) = counts.get_mut(*pick) {
                *n = n.saturating_add(1);
            }
            if eligible & bit(p) == 0 {
                off_tier = off_tier.saturating_add(1);
            }
            if held(k) {
                alloc(in_flight.push(t, GFP_KERNEL))?;
            } else {
                // Adaptive learns from latency: path 0 answers in 2 ms,
                // the others in 100 us.
                let lat = if *pick == 0 { 2_000 } else { 100 };
                now = Instant::from_nanos(now.as_nanos().saturating_add(lat * 1_000));
                rig.finish(&mut cursor, t, now)?;
            }
        }
        for t in in_flight {
            rig.finish(&mut cursor, t, now)?;
        }
        let name = policy.name();
        c.check(
            policy_check(policy, "eligible"),
            eligible == expected && off_tier == 0,
            format_args!("{name}: active tier {eligible:#x}, 12 picks, {off_tier} off it"),
        );
        let (ok, why) = policy_expectation(policy, &picks, &counts);
        c.check(
            policy_check(policy, "behaviour"),
            ok,
            format_args!("{name}: {why}; picks {:?}", picks),
        );
    }
    Ok(())
}

/// Which I/O each policy keeps in flight while the next ones are picked
/// (`true`: held until the end).
fn hold_pattern(policy: Policy) -> fn(usize) -> bool {
    match policy {
        // The first I/O (1 MiB for queue-bytes) stays in flight: the
        // queue-based policies must steer round it.
        Policy::QueueDepth | Policy::QueueBytes => |k| k == 0,
        // All in flight: the load splits by relative throughput.
        Policy::ServiceTime => |_| true,
        _ => |_| false,
    }
}

fn policy_check(policy: Policy, what: &str) -> &'static str {
    match (policy, what) {
        (Policy::Locality, "eligible") => "numa picks eligible paths",
        (Policy::Locality, _) => "numa keeps to the local path",
        (Policy::RoundRobin, "eligible") => "round-robin picks eligible paths",
        (Policy::RoundRobin, _) => "round-robin rotates",
        (Policy::QueueDepth, "eligible") => "queue-depth picks eligible paths",
        (Policy::QueueDepth, _) => "queue-depth avoids the loaded path",
        (Policy::QueueBytes, "eligible") => "queue-bytes picks eligible paths",
        (Policy::QueueBytes, _) => "queue-bytes avoids the path with bytes in flight",
        (Policy::ServiceTime, "eligible") => "service-time picks eligible paths",
        (Policy::ServiceTime, _) => "service-time follows relative throughput",
        (Policy::Adaptive, "eligible") => "adaptive picks eligible paths",
        (Policy::Adaptive, _) => "adaptive avoids the slow path",
        (_, "eligible") => "a new policy picks eligible paths",
        _ => "a new policy has no expectation",
    }
}

/// Whether the picks show what `policy` is for, and what was expected.
fn policy_expectation(policy: Policy, picks: &[usize], counts: &[u32; N]) -> (bool, &'static str) {
    let [p0, p1, p2, _] = *counts;
    match policy {
        // The cursor is on node 0; only path 1 is there.
        Policy::Locality => (p1 == 12, "all 12 on path 1, the one on node 0"),
        // Default rr_switch_ios is 1: the next path on every I/O.
        Policy::RoundRobin => (
            p0 == 4 && p1 == 4 && p2 == 4 && picks.windows(2).all(|w| w.first() != w.get(1)),
            "4 each, never the same path twice in a row",
        ),
        Policy::QueueDepth | Policy::QueueBytes => {
            let loaded = picks.first().copied().unwrap_or(usize::MAX);
            let later = picks.get(1..).unwrap_or(&[]);
            (
                loaded < N && later.iter().all(|&p| p != loaded),
                "nothing more on the path of the I/O held in flight",
            )
        }
        // Throughput 100 against 50 and 50, all 12 in flight: 6, 3, 3.
        Policy::ServiceTime => (
            p0 == 6 && p1 == 3 && p2 == 3,
            "6, 3, 3 for throughput 100, 50, 50",
        ),
        // Each path is tried once (unsampled paths score lowest); after
        // that the 2 ms path loses to the 100 us ones.
        Policy::Adaptive => (
            p0 <= 2
                && picks
                    .get(3..)
                    .unwrap_or(&[])
                    .iter()
                    .all(|&p| p != 0 || p0 <= 1),
            "the 2 ms path gets at most 2 of 12",
        ),
        _ => (false, "a policy this test does not know"),
    }
}

// ----- failover -----

/// Two paths in one group. The path under a write and a read dies: the
/// read goes to the other path at once, the write only after the failed
/// path's quiesce time (it may still be in flight on the target).
fn failover(c: &mut Checks) -> Step {
    let mut cfg = Config::DEFAULT;
    cfg.quiesce_time = Duration::from_millis(100);
    cfg.no_path = NoPathPolicy::Queue;
    let (mut rig, paths) = Rig::new(cfg, &[(0, 0, 0), (0, 0, 0)])?;
    let (a, b) = (
        *paths.first().ok_or(Stop("path"))?,
        *paths.get(1).ok_or(Stop("path"))?,
    );
    let mut cursor = Cursor::<N>::new(Locality(0));
    // A write (odd tags) and then a read (even tags) in flight on path a:
    // round-robin alternates, so what lands on b is completed and sent
    // again with the next tag.
    let mut on_a = KVec::new();
    for first_tag in [1u64, 2] {
        for tag in (first_tag..first_tag + 8).step_by(2) {
            let io = if tag % 2 == 1 {
                Io::write(tag, 4096, 2)
            } else {
                Io::read(tag, 4096, 2)
            };
            let t = rig.start(&mut cursor, io, ms(1))?;
            if t.path() == a {
                alloc(on_a.push(t, GFP_KERNEL))?;
                break;
            }
            rig.finish(&mut cursor, t, ms(1))?;
        }
    }
    let n_on_a = on_a.len();
    c.check(
        "failover: a write and a read in flight on path a",
        n_on_a == 2,
        format_args!("{n_on_a} on a"),
    );
    rig.lun.down |= 1 << Lun::nexus(a);
    let lost = Outcome::PathError(PathErrorKind::Transport);
    let mut write_held = false;
    for t in on_a {
        let is_write = t.io().kind == mpath_core::IoKind::Write;
        let d = must(
            "handle_completion",
            rig.d
                .handle_completion(t, lost.into(), ms(2))
                .map_err(|r| r.error),
        )?;
        match d {
            Disposition::Dispatch(t) => {
                alloc(rig.dispatched.push((t.io().tag, t.path()), GFP_KERNEL))?;
                rig.finish(&mut cursor, t, ms(2))?;
            }
            Disposition::Queued => write_held |= is_write,
            _ => {}
        }
    }
    rig.run(ms(2))?;
    let read_moved = rig
        .dispatched
        .iter()
        .any(|&(tag, p)| tag.0 % 2 == 0 && p == b);
    let write_early = rig.dispatched.iter().any(|&(tag, _)| tag.0 % 2 == 1);
    c.check(
        "failover: the read is sent again on path b at once",
        read_moved,
        format_args!("{} re-sent at 2 ms", rig.dispatched.len()),
    );
    c.check(
        "failover: the write is held, not sent at once",
        write_held && !write_early,
        format_args!("held {write_held}"),
    );
    c.check(
        "failover: path a reported failed",
        rig.path_failed.contains(&a),
        format_args!("{} failed", rig.path_failed.len()),
    );
    // Half-way through the quiesce time the write is still held.
    must("handle_timeout", rig.d.handle_timeout(ms(50)))?;
    rig.run(ms(50))?;
    let early = rig.dispatched.iter().any(|&(tag, _)| tag.0 % 2 == 1);
    let wake = rig.d.poll_timeout();
    c.check(
        "failover: no write before the quiesce time",
        !early && wake.is_some_and(|w| w > ms(50) && w <= ms(102)),
        format_args!(
            "next timer at {} us",
            wake.map_or(0, |w| w.as_nanos() / 1_000)
        ),
    );
    let wake = wake.unwrap_or(ms(102));
    must("handle_timeout", rig.d.handle_timeout(wake))?;
    rig.run(wake)?;
    let write_on_b = rig
        .dispatched
        .iter()
        .any(|&(tag, p)| tag.0 % 2 == 1 && p == b);
    let failed_up = rig.failed.len();
    c.check(
        "failover: the write goes to path b after the quiesce time",
        write_on_b && failed_up == 0,
        format_args!(
            "at {} us, {failed_up} failed upward",
            wake.as_nanos() / 1_000
        ),
    );
    Ok(())
}

// ----- ALUA -----

/// Paths 0, 1 in group 1 (active/optimized), 2, 3 in group 2
/// (active/non-optimized). Group 1 goes to standby, back, to unavailable,
/// back: I/O follows the groups each time.
fn alua(c: &mut Checks) -> Step {
    let (mut rig, paths) = Rig::new(
        Config::DEFAULT,
        &[(0, 0, 0), (0, 0, 0), (1, 0, 0), (1, 0, 0)],
    )?;
    let g1 = mask_of(paths.get(..2).unwrap_or(&[]));
    let g2 = mask_of(paths.get(2..).unwrap_or(&[]));
    let mut cursor = Cursor::<N>::new(Locality(0));
    let mut now = 10;
    c.check(
        "alua: I/O on group 1 while it is optimized",
        rig.active_mask(&paths) == g1 && picks(&rig, &mut cursor, ms(now))? == g1,
        format_args!("active {:#x}", rig.active_mask(&paths)),
    );
    for (state, leave, back) in [
        (
            AccessState::Standby,
            "alua: group 1 standby, its paths leave the active tier, I/O on group 2",
            "alua: group 1 optimized again, I/O back on group 1 (after standby)",
        ),
        (
            AccessState::Unavailable,
            "alua: group 1 unavailable, its paths leave the active tier, I/O on group 2",
            "alua: group 1 optimized again, I/O back on group 1 (after unavailable)",
        ),
    ] {
        now += 10;
        set_group(&mut rig, 0, state, ms(now))?;
        let tiers_left = paths
            .iter()
            .take(2)
            .all(|&p| rig.d.tier(p).is_ok_and(|t| t == Tier::Ineligible));
        let active = rig.d.controller().active_tier();
        let seen = picks(&rig, &mut cursor, ms(now))?;
        c.check(
            leave,
            tiers_left && active == Some(Tier::NonOptimized) && seen == g2,
            format_args!("active tier {:?}, I/O on {seen:#x}", active.map(Tier::name)),
        );
        now += 10;
        set_group(&mut rig, 0, AccessState::Optimized, ms(now))?;
        let active = rig.d.controller().active_tier();
        let seen = picks(&rig, &mut cursor, ms(now))?;
        c.check(
            back,
            active == Some(Tier::Optimized) && seen == g1,
            format_args!("active tier {:?}, I/O on {seen:#x}", active.map(Tier::name)),
        );
    }
    Ok(())
}

/// The unit changes group `k`'s state and says so (an ASYMMETRIC ACCESS
/// STATE CHANGED unit attention read back by RTPG): the device hears it.
fn set_group(rig: &mut Rig, k: usize, state: AccessState, now: Instant) -> Step {
    if let Some(s) = rig.lun.access.get_mut(k) {
        *s = state;
    }
    let (g, a): (GroupId, GroupAccess) = rig.lun.group(k);
    must("handle_access_state", rig.d.handle_access_state(g, a, now))?;
    rig.run(now)
}

/// The paths (bit per slot) 8 reads, completed at once, went to.
fn picks(rig: &Rig, cursor: &mut Cursor<N>, now: Instant) -> Step<u64> {
    let mut seen = 0;
    for tag in 0..8 {
        let t = rig.start(cursor, Io::read(tag, 4096, 0), now)?;
        seen |= bit(t.path());
        rig.finish(cursor, t, now)?;
    }
    Ok(seen)
}

// ----- reservation -----

/// Three paths, one group. Register our key on every nexus, reserve Write
/// Exclusive; the holder's path dies under a write; the coordinator moves
/// the reservation (a PREEMPT of our own key from a live nexus), the other
/// nexus registers again, and the held write goes out through the new
/// holder.
fn reservation(c: &mut Checks) -> Step {
    let (mut rig, paths) = Rig::new(Config::DEFAULT, &[(0, 0, 0), (0, 0, 0), (0, 0, 0)])?;
    must(
        "reservation",
        rig.d.reservation(PrOp::Register(OURS), ms(1)),
    )?;
    rig.run(ms(1))?;
    let all = paths
        .iter()
        .all(|&p| rig.lun.key_of(Lun::nexus(p)) == Some(OURS));
    c.check(
        "reservation: our key registered on every nexus",
        all && rig.finished_ok.contains(&PrOp::Register(OURS)),
        format_args!("keys {:x?}", rig.lun.keys),
    );
    let we = PrType::WriteExclusive;
    must("reservation", rig.d.reservation(PrOp::Reserve(we), ms(2)))?;
    rig.run(ms(2))?;
    let holder = rig.d.coordinator().holder();
    let held_by = rig.lun.resv.map(|(n, _, _)| n);
    c.check(
        "reservation: reserved Write Exclusive through the holder's nexus",
        holder.is_some() && holder.map(Lun::nexus) == held_by,
        format_args!(
            "holder {:?}, unit says nexus {held_by:?}",
            holder.map(|p| p.slot())
        ),
    );
    let holder = holder.ok_or(Stop("no holder"))?;
    // Under Write Exclusive only the holder's nexus may write.
    let mut cursor = Cursor::<N>::new(Locality(0));
    let t = rig.start(&mut cursor, Io::write(7, 4096, 2), ms(3))?;
    c.check(
        "reservation: writes go through the holder",
        t.path() == holder,
        format_args!("write on slot {}", t.path().slot()),
    );
    // The holder's nexus dies under the write.
    rig.lun.down |= 1 << Lun::nexus(holder);
    let lost = Outcome::PathError(PathErrorKind::Transport).into();
    let d = must(
        "handle_completion",
        rig.d.handle_completion(t, lost, ms(4)).map_err(|r| r.error),
    )?;
    let quiesced = rig.d.coordinator().is_quiesced();
    c.check(
        "reservation: the write is held while the reservation moves",
        d == Disposition::Queued && quiesced,
        format_args!("quiesced {quiesced}"),
    );
    rig.run(ms(4))?;
    let new = rig.d.coordinator().holder();
    let unit = rig.lun.resv;
    let moved = new.is_some_and(|n| n != holder)
        && rig.moved_to == new
        && unit.is_some_and(|(n, k, t)| Some(n) == new.map(Lun::nexus) && k == OURS && t == we);
    c.check(
        "reservation: the coordinator moved it to a live nexus",
        moved,
        format_args!(
            "from slot {} to {:?}; unit: {:?}",
            holder.slot(),
            new.map(|p| p.slot()),
            unit.map(|(n, _, _)| n)
        ),
    );
    let others_registered = paths.iter().filter(|&&p| p != holder).all(|&p| {
        rig.lun.key_of(Lun::nexus(p)) == Some(OURS) && rig.d.admitted(p).unwrap_or(false)
    });
    c.check(
        "reservation: the live nexuses hold our key and are admitted",
        others_registered && !rig.d.coordinator().is_quiesced(),
        format_args!("keys {:x?}", rig.lun.keys),
    );
    // The held write goes out after the dead path's quiesce time, through
    // the new holder.
    let wake = rig.d.poll_timeout().unwrap_or(ms(200));
    must("handle_timeout", rig.d.handle_timeout(wake))?;
    rig.run(wake)?;
    let sent = rig
        .dispatched
        .iter()
        .find(|&&(tag, _)| tag.0 == 7)
        .map(|&(_, p)| p);
    c.check(
        "reservation: the held write goes out through the new holder",
        sent.is_some() && sent == new && rig.failed.is_empty(),
        format_args!("sent on {:?}", sent.map(|p| p.slot())),
    );
    Ok(())
}
