//! The PR coordinator against a model of an SPC-4 device server: one rule
//! per test (see `mpath_core::reservation`).

mod common;
use common::spc4::Target;
use mpath_core::reservation::*;
use mpath_core::*;

const OURS: u64 = 0xA1;
const THEIRS: u64 = 0xB2;

/// Paths 0..n are nexus 100+slot.
struct Rig {
    c: Coordinator<8>,
    t: Target,
    paths: Vec<PathId>,
    events: Vec<PrEvent>,
    actions: Vec<PrAction>,
}

fn nexus(p: PathId) -> u32 {
    100 + p.slot() as u32
}

impl Rig {
    fn new(scope: RegistrationScope, n: usize, ports: &[u32]) -> Self {
        let mut c = Coordinator::new(scope);
        let mut t = Target::default();
        let paths: Vec<PathId> = (0..n)
            .map(|i| PathId::from_raw(0x0001_0000 | i as u32))
            .collect();
        for (i, &p) in paths.iter().enumerate() {
            let port = ports.get(i).copied().unwrap_or(i as u32);
            c.path_added(p, port, true);
            if scope == RegistrationScope::InitiatorPort {
                t.ports.push((nexus(p), port));
            }
        }
        Rig {
            c,
            t,
            paths,
            events: Vec::new(),
            actions: Vec::new(),
        }
    }
    /// Carry out every action until quiet.
    fn run(&mut self) {
        for _ in 0..1000 {
            let Some(a) = self.c.poll_action() else { break };
            self.actions.push(a);
            // READ KEYS counts the key in use now.
            let ours = self.c.key().unwrap_or(OURS);
            let r = self.t.exec(nexus(a.via), a.command, ours);
            self.t.settle();
            assert!(self.c.reply(a.via, r));
        }
        while let Some(e) = self.c.poll_event() {
            self.events.push(e);
        }
    }
    fn op(&mut self, op: PrOp) -> Result<PrReport, PrError> {
        self.events.clear();
        self.c.submit(op).unwrap();
        self.run();
        self.events
            .iter()
            .find_map(|e| match e {
                PrEvent::Finished { op: o, result } if *o == op => Some(*result),
                _ => None,
            })
            .unwrap_or_else(|| panic!("{op:?} did not finish: {:?}", self.events))
    }
    fn mask(&self, idx: &[usize]) -> u64 {
        idx.iter().fold(0, |a, &i| a | 1 << self.paths[i].slot())
    }
    fn commands(&self, f: impl Fn(&PrCommand) -> bool) -> usize {
        self.actions.iter().filter(|a| f(&a.command)).count()
    }
}

#[test]
fn rule1_register_every_nexus_before_it_carries_io() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    for &p in &r.paths {
        assert!(r.c.admitted(p), "no key: gate open");
    }
    let rep = r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(rep.registered, r.mask(&[0, 1, 2]));
    assert_eq!(r.t.regs.len(), 3);
    assert!(r.c.key_active());
    // A new path is registered first, then admitted.
    let p = PathId::from_raw(0x0001_0003);
    r.c.path_added(p, 3, true);
    assert!(!r.c.admitted(p));
    assert_eq!(r.c.state(p), Some(RegState::Registering));
    r.run();
    assert!(r.c.admitted(p));
    assert_eq!(r.t.key_of(nexus(p)), Some(OURS));
    // Rule-1 consequence on a real device server: WE-RO writes succeed on
    // every admitted path.
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    for n in 100..104 {
        assert!(!r.t.write_conflicts(n));
    }
}

#[test]
fn rule2_verify_after_registering_and_notice_preemption() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let reads = r.commands(|c| *c == PrCommand::ReadKeys);
    assert_eq!(reads, 1, "READ KEYS after registering");
    // Another host preempts our key; a unit attention arrives.
    r.t.regs.retain(|x| x.1 != OURS);
    r.t.regs.push((900, THEIRS));
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(r.events.contains(&PrEvent::Fenced));
    assert!(r.c.is_fenced());
}

#[test]
fn rule2_a_preemption_noticed_during_an_operation_is_checked_after_it() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.events.clear();
    r.c.submit(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let a = r.c.poll_action().unwrap();
    // Another host preempts us while our command is out; the unit
    // attention shows up on the other path before the reply.
    r.t.regs.retain(|x| x.1 != OURS);
    r.t.regs.push((900, THEIRS));
    r.c.handle_notices(r.paths[1], Notices::REGISTRATIONS_PREEMPTED);
    assert!(!r.c.is_fenced(), "not before the keys are read");
    let reply = r.t.exec(nexus(a.via), a.command, OURS);
    assert!(r.c.reply(a.via, reply));
    r.run();
    assert!(
        r.events.iter().any(|e| matches!(
            e,
            PrEvent::Finished {
                op: PrOp::Reserve(_),
                ..
            }
        )),
        "{:?}",
        r.events
    );
    assert!(r.events.contains(&PrEvent::Fenced), "{:?}", r.events);
    assert!(r.c.is_fenced());
    assert!(!r.c.admitted(r.paths[0]));
}

#[test]
fn rule3_stale_registration_replaced_or_removed_on_return() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let p1 = r.paths[1];
    r.c.path_down(p1);
    r.t.down.push(nexus(p1));
    // Key changes while p1 is away: the PREEMPT of the old key that a key
    // change starts with removes p1's old registration too; p1 is
    // registered with the new key when it returns, before admission.
    r.op(PrOp::Register(0xC3)).unwrap();
    assert_eq!(r.t.key_of(nexus(p1)), None);
    assert!(!r.c.admitted(p1));
    assert_eq!(r.c.state(p1), Some(RegState::Stale));
    r.t.down.clear();
    r.c.path_up(p1);
    r.run();
    assert_eq!(r.t.key_of(nexus(p1)), Some(0xC3));
    assert!(r.c.admitted(p1));
    // Key dropped while p1 is away: the PREEMPT of our own key that
    // Unregister starts with removes p1's registration too.
    r.c.path_down(p1);
    r.t.down.push(nexus(p1));
    r.op(PrOp::Unregister).unwrap();
    assert_eq!(r.t.key_of(nexus(p1)), None);
    r.t.down.clear();
    r.c.path_up(p1);
    r.run();
    assert!(r.t.regs.is_empty(), "no key left behind");
    // With no path up at all nothing can be removed: Unregister is
    // refused and nothing changes. Asked again once one path is back, the
    // takeover from there removes the registration of the one still away.
    r.op(PrOp::Register(OURS)).unwrap();
    let p0 = r.paths[0];
    for &p in &[p0, p1] {
        r.c.path_down(p);
        r.t.down.push(nexus(p));
    }
    assert_eq!(r.c.submit(PrOp::Unregister), Err(PrError::NoPath));
    assert_eq!(r.c.key(), Some(OURS));
    assert_eq!(r.c.state(p1), Some(RegState::Registered));
    assert!(r.c.poll_action().is_none(), "nothing sent");
    assert_eq!(r.t.key_of(nexus(p0)), Some(OURS));
    r.t.down.retain(|&n| n != nexus(p1));
    r.c.path_up(p1);
    r.run();
    r.op(PrOp::Unregister).unwrap();
    assert!(
        r.t.regs.is_empty(),
        "p0's nexus, still away, too: {:?}",
        r.t.regs
    );
    r.t.down.clear();
    r.c.path_up(p0);
    r.run();
    assert!(r.t.regs.is_empty(), "no key left behind");
    assert_eq!(r.c.key(), None);
}

#[test]
fn new_nexus_on_a_path_is_registered_before_admission_and_the_reservation_moves() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    let holder = r.c.holder().unwrap();
    let other = *r.paths.iter().find(|&&p| p != holder).unwrap();
    // A non-holder path logs in again as a new nexus: the target keeps the
    // old nexus's registration and knows nothing of the new one.
    r.t.replaced.push((nexus(other), 200));
    assert!(r.t.write_conflicts(200), "the new nexus is unregistered");
    r.c.nexus_replaced(other, 7);
    assert!(!r.c.admitted(other), "not admitted before it is registered");
    assert_eq!(r.c.state(other), Some(RegState::Registering));
    assert!(!r.c.is_quiesced(), "the reservation did not move");
    r.run();
    assert!(r.c.admitted(other));
    assert_eq!(r.t.key_of(200), Some(OURS));
    assert!(!r.t.write_conflicts(200));
    assert_eq!(r.c.holder(), Some(holder));

    // The holder's nexus is replaced: the reservation belongs to a nexus
    // that no longer exists, so it is moved like a dead holder's.
    r.t.replaced.push((nexus(holder), 201));
    r.events.clear();
    r.c.nexus_replaced(holder, 8);
    assert!(r.c.is_quiesced());
    assert!(!r.c.admitted(holder));
    r.run();
    assert!(!r.c.is_quiesced());
    let new = r.c.holder().unwrap();
    assert!(r.events.contains(&PrEvent::Moved { holder: new }));
    let held_by = r.t.resv.map(|x| x.0).unwrap();
    assert_eq!(held_by, r.t.current(nexus(new)));
    assert!(r.c.admitted(holder), "re-registered on its new nexus");
    assert_eq!(r.t.key_of(201), Some(OURS));
    // Stale ids and unknown paths are ignored.
    r.c.nexus_replaced(PathId::from_raw(0x0002_0000), 1);
    assert!(r.c.poll_action().is_none());
}

#[test]
fn rule4_one_path_retried_elsewhere_conflict_not_retried() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    // The first path picked fails the RESERVE: it goes to another.
    r.t.down.push(nexus(r.paths[0]));
    r.actions.clear();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let reserves: Vec<_> = r
        .actions
        .iter()
        .filter(|a| matches!(a.command, PrCommand::Reserve { .. }))
        .collect();
    assert_eq!(reserves.len(), 2);
    assert_ne!(reserves[0].via, reserves[1].via);
    assert!(r.t.resv.is_some());
    // Conflict: reported, not retried.
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.resv = Some((900, THEIRS, PrType::WriteExclusive));
    r.actions.clear();
    assert_eq!(
        r.op(PrOp::Reserve(PrType::WriteExclusive)),
        Err(PrError::Conflict)
    );
    assert_eq!(r.commands(|c| matches!(c, PrCommand::Reserve { .. })), 1);
}

#[test]
fn rule5_never_release_what_we_do_not_hold() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.regs.push((900, THEIRS));
    r.t.resv = Some((900, THEIRS, PrType::ExclusiveAccess));
    r.actions.clear();
    assert_eq!(r.op(PrOp::Release), Err(PrError::NotHolder));
    assert_eq!(r.commands(|c| matches!(c, PrCommand::Release { .. })), 0);
    assert!(r.t.resv.is_some());
    // Ours: released through the holder.
    r.t.resv = None;
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder().unwrap();
    r.actions.clear();
    r.op(PrOp::Release).unwrap();
    let rel = r
        .actions
        .iter()
        .find(|a| matches!(a.command, PrCommand::Release { .. }))
        .unwrap();
    assert_eq!(rel.via, holder);
    assert!(r.t.resv.is_none());
}

#[test]
fn rule6_holder_dies_reservation_moves_and_others_reregister() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let old = r.c.holder().unwrap();
    r.t.down.push(nexus(old));
    r.events.clear();
    r.c.path_down(old);
    assert!(r.c.is_quiesced(), "I/O held while the reservation moves");
    r.run();
    assert!(!r.c.is_quiesced());
    let new = r.c.holder().unwrap();
    assert_ne!(new, old);
    assert!(r.events.contains(&PrEvent::Moved { holder: new }));
    assert_eq!(r.t.resv, Some((nexus(new), OURS, PrType::WriteExclusive)));
    // Every live nexus holds our key again; writes go through the holder.
    for &p in &r.paths {
        if p != old {
            assert_eq!(r.t.key_of(nexus(p)), Some(OURS), "{p}");
            assert!(r.c.admitted(p));
        }
    }
    assert!(!r.t.write_conflicts(nexus(new)));
    // Changing the type is a preempt of our own key too.
    r.actions.clear();
    r.op(PrOp::Reserve(PrType::ExclusiveAccessRegistrantsOnly))
        .unwrap();
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Preempt { victim: OURS, .. })),
        1
    );
    assert_eq!(
        r.t.resv.map(|x| x.2),
        Some(PrType::ExclusiveAccessRegistrantsOnly)
    );
    for &p in &r.paths {
        if p != old {
            assert_eq!(r.t.key_of(nexus(p)), Some(OURS));
        }
    }
}

#[test]
fn rule7_fenced_when_preempted_and_nothing_reregisters() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    // The other host preempts us.
    r.t.regs.push((900, THEIRS));
    let reply = r.t.exec(
        900,
        PrCommand::Preempt {
            key: THEIRS,
            victim: OURS,
            rtype: PrType::WriteExclusiveRegistrantsOnly,
            abort: true,
        },
        OURS,
    );
    assert_eq!(reply, PrReply::Done);
    r.c.handle_notices(r.paths[1], Notices::RESERVATIONS_PREEMPTED);
    r.run();
    assert!(r.c.is_fenced());
    for &p in &r.paths {
        assert!(!r.c.admitted(p));
    }
    // A new path is not registered behind the fence.
    r.actions.clear();
    let p = PathId::from_raw(0x0001_0005);
    r.c.path_added(p, 5, true);
    r.c.path_up(r.paths[0]);
    r.run();
    assert!(r.actions.is_empty(), "{:?}", r.actions);
    assert!(!r.c.admitted(p));
    // Until the user registers again.
    r.op(PrOp::Register(OURS)).unwrap();
    assert!(!r.c.is_fenced());
    assert!(r.c.admitted(p));
}

#[test]
fn rule8_all_tg_pt_and_host_scope_register_once() {
    // Two initiator ports, two paths each.
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 4, &[1, 1, 2, 2]);
    let rep = r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(r.commands(|c| matches!(c, PrCommand::Register { .. })), 2);
    assert_eq!(rep.registered, r.mask(&[0, 1, 2, 3]));
    assert_eq!(
        r.t.regs.len(),
        4,
        "target registered every nexus of each port"
    );
    // NVMe: once per host.
    let mut r = Rig::new(RegistrationScope::Host, 3, &[0, 0, 0]);
    r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(r.commands(|c| matches!(c, PrCommand::Register { .. })), 1);
    for &p in &r.paths {
        assert!(r.c.admitted(p));
    }
    let p = PathId::from_raw(0x0001_0004);
    r.c.path_added(p, 0, true);
    assert!(
        r.c.admitted(p),
        "the host's registration covers a new controller"
    );
}

#[test]
fn rule9_partial_registration_reports_and_completes_later() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    let p2 = r.paths[2];
    r.t.down.push(nexus(p2));
    let rep = r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(rep.registered, r.mask(&[0, 1]));
    assert_eq!(rep.failed, r.mask(&[2]));
    assert!(!r.c.admitted(p2));
    // The path comes back: registered, then admitted.
    r.t.down.clear();
    r.c.path_down(p2);
    r.c.path_up(p2);
    r.run();
    assert!(r.c.admitted(p2));
    assert_eq!(r.t.key_of(nexus(p2)), Some(OURS));
}

#[test]
fn clear_and_unregister_leave_no_key_behind() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::ExclusiveAccess)).unwrap();
    r.op(PrOp::Clear).unwrap();
    assert!(r.t.regs.is_empty() && r.t.resv.is_none());
    assert!(!r.c.key_active());
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Unregister).unwrap();
    assert!(r.t.regs.is_empty());
    let keys = r.op(PrOp::ReadKeys).unwrap();
    assert_eq!(keys.keys, Some((0, 0)));
}

#[test]
fn misuse_is_refused() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    assert_eq!(
        r.c.submit(PrOp::Reserve(PrType::WriteExclusive)),
        Err(PrError::NotRegistered)
    );
    r.c.submit(PrOp::ReadKeys).unwrap();
    assert_eq!(r.c.submit(PrOp::ReadKeys), Err(PrError::Busy));
    // A reply for a command never sent is ignored.
    assert!(!r.c.reply(PathId::from_raw(0x0001_0007), PrReply::Done));
    r.run();
}

/// The coordinator driving a controller's gate: quiesce while the
/// reservation moves, admit only registered paths, fail I/O when fenced.
#[test]
fn controller_gate_follows_the_coordinator() {
    let t0 = Instant::from_nanos(0);
    let mut cfg = Config::DEFAULT;
    cfg.no_path = NoPathPolicy::Fail;
    let mut mp: Multipath<8> = Multipath::new(cfg).unwrap();
    let mut c: Coordinator<8> = Coordinator::new(RegistrationScope::Nexus);
    let mut t = Target::default();
    let mut paths = Vec::new();
    for i in 0..3u32 {
        let p = mp
            .controller_mut()
            .add_path(PathSpec::new(GroupId(1), NexusId(i)), t0)
            .unwrap();
        c.path_added(p, i, true);
        paths.push(p);
    }
    let drive = |c: &mut Coordinator<8>, t: &mut Target, mp: &mut Multipath<8>| {
        while let Some(a) = c.poll_action() {
            // While registering, the gate is closed to the unregistered.
            mp.controller_mut().apply_reservation(c, t0).unwrap();
            let r = t.exec(nexus(a.via), a.command, OURS);
            c.reply(a.via, r);
        }
        mp.controller_mut().apply_reservation(c, t0).unwrap();
        while c.poll_event().is_some() {}
    };
    c.submit(PrOp::Register(OURS)).unwrap();
    mp.controller_mut().apply_reservation(&c, t0).unwrap();
    assert_eq!(
        mp.controller().data_plane().selectable(),
        0,
        "gate closed until registered"
    );
    drive(&mut c, &mut t, &mut mp);
    assert_eq!(mp.controller().data_plane().selectable().count_ones(), 3);
    c.submit(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    drive(&mut c, &mut t, &mut mp);

    // The holder dies: I/O is held, not failed, even with fail-if-no-path.
    let holder = c.holder().unwrap();
    t.down.push(nexus(holder));
    c.path_down(holder);
    mp.controller_mut()
        .handle_probe(holder, ProbeResult::Down, t0)
        .unwrap();
    mp.controller_mut().apply_reservation(&c, t0).unwrap();
    assert!(c.is_quiesced());
    assert_eq!(
        mp.submit(Io::write(1, 4096, 0), t0).unwrap(),
        Disposition::Queued
    );
    drive(&mut c, &mut t, &mut mp);
    assert!(!c.is_quiesced());
    let mut sent = Vec::new();
    while let Some(a) = mp.controller_mut().poll_action() {
        if let Action::Dispatch(tk) = a {
            sent.push(tk);
        }
    }
    assert_eq!(sent.len(), 1);
    assert!(
        !t.write_conflicts(nexus(sent[0].path())),
        "no conflict from our own move"
    );
    mp.complete_ok(sent.pop().unwrap(), t0).unwrap();

    // Another host preempts us: fenced, I/O fails with a clear error.
    t.regs.push((900, THEIRS));
    t.exec(
        900,
        PrCommand::Preempt {
            key: THEIRS,
            victim: OURS,
            rtype: PrType::WriteExclusive,
            abort: false,
        },
        OURS,
    );
    c.handle_notices(paths[1], Notices::RESERVATIONS_PREEMPTED);
    drive(&mut c, &mut t, &mut mp);
    assert!(c.is_fenced());
    match mp.submit(Io::write(2, 4096, 0), t0).unwrap() {
        Disposition::Done { result, .. } => assert_eq!(result, Err(IoError::Fenced)),
        other => panic!("{other:?}"),
    }
}

/// Events are state, not a bounded queue: an embedder that polls late
/// loses none. Every accepted operation yields exactly one result (a new
/// one is refused as busy until the last result is polled), and a move
/// and a fence that happen meanwhile are both reported.
#[test]
fn late_polling_loses_no_event() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let run_actions = |r: &mut Rig| {
        while let Some(a) = r.c.poll_action() {
            let reply = r.t.exec(nexus(a.via), a.command, OURS);
            assert!(r.c.reply(a.via, reply));
        }
    };
    let mut accepted = 0;
    for _ in 0..12 {
        match r.c.submit(PrOp::ReadKeys) {
            Ok(()) => accepted += 1,
            Err(e) => assert_eq!(e, PrError::Busy),
        }
        run_actions(&mut r);
    }
    // The holder's nexus dies: the reservation moves.
    let holder = r.c.holder().unwrap();
    r.t.down.push(nexus(holder));
    r.c.path_down(holder);
    run_actions(&mut r);
    let moved_to = r.c.holder().unwrap();
    assert_ne!(moved_to, holder);
    // Another host preempts us, and we hear of it.
    r.t.regs.retain(|reg| reg.1 != OURS);
    r.t.resv = None;
    r.c.handle_notices(moved_to, Notices::REGISTRATIONS_PREEMPTED);
    run_actions(&mut r);
    let mut events = Vec::new();
    while let Some(e) = r.c.poll_event() {
        events.push(e);
    }
    let finished = events
        .iter()
        .filter(|e| {
            matches!(
                e,
                PrEvent::Finished {
                    op: PrOp::ReadKeys,
                    ..
                }
            )
        })
        .count();
    assert_eq!(finished, accepted, "{events:?}");
    assert!(
        events.contains(&PrEvent::Moved { holder: moved_to }),
        "{events:?}"
    );
    assert!(events.contains(&PrEvent::Fenced), "{events:?}");
    assert!(
        r.c.submit(PrOp::ReadKeys).is_ok(),
        "polled: not busy any more"
    );
}

/// A path that comes back and goes down again before its registration was
/// sent still owes that registration: when it returns, it is registered
/// and admitted (it used to stay "Registering" with nothing to send).
#[test]
fn a_registration_never_sent_is_not_forgotten_across_an_outage() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let p = r.paths[0];
    // Re-registered while `p` is down: its registration is stale.
    r.c.path_down(p);
    r.t.down.push(nexus(p));
    r.op(PrOp::Unregister).unwrap();
    r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(r.c.state(p), Some(RegState::Stale));
    r.t.down.clear();
    r.c.path_up(p);
    assert_eq!(r.c.state(p), Some(RegState::Registering));
    r.c.path_down(p);
    assert_ne!(
        r.c.state(p),
        Some(RegState::Registering),
        "nothing in flight"
    );
    r.c.path_up(p);
    r.run();
    assert_eq!(r.c.state(p), Some(RegState::Registered));
    assert!(r.c.admitted(p));
}

/// Getters and small rules: the type held reads back; reserving the type
/// already held finishes at once with no command; a path back up that is
/// still registered is not registered again.
#[test]
fn reservation_getters_and_no_op_rules() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    assert_eq!(
        r.c.reservation(),
        Some(PrType::WriteExclusiveRegistrantsOnly)
    );
    let sent = r.actions.len();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    assert_eq!(r.actions.len(), sent, "nothing sent");
    let p = r.paths[1];
    r.c.path_down(p);
    r.c.path_up(p);
    assert_eq!(r.c.state(p), Some(RegState::Registered));
    r.run();
    assert_eq!(r.actions.len(), sent, "nothing sent on return");
}

/// Unregistering takes every registration of ours over with one PREEMPT of
/// our own key, then unregisters that one nexus: two commands, however
/// many paths and initiator ports (ALL_TG_PT here).
#[test]
fn unregister_preempts_our_key_once_then_unregisters_one_nexus() {
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 4, &[7, 7, 9, 9]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.actions.clear();
    r.op(PrOp::Unregister).unwrap();
    assert_eq!(r.commands(|c| *c == PrCommand::Unregister), 1);
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Preempt { victim: OURS, .. })),
        1
    );
    assert!(r.t.regs.is_empty());
    assert_eq!(r.c.key(), None);
}

/// With no registered path to preempt from, unregistering in a shared
/// scope sends one command per initiator port, whether a port has one
/// path or several.
#[test]
fn unregister_nexus_by_nexus_sends_one_command_per_initiator_port() {
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 3, &[7, 9, 9]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.refuse_preempt = true;
    r.actions.clear();
    r.op(PrOp::Unregister).unwrap();
    assert_eq!(r.commands(|c| *c == PrCommand::Unregister), 2);
    assert!(r.t.regs.is_empty(), "{:?}", r.t.regs);
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 4, &[7, 7, 9, 9]);
    r.op(PrOp::Register(OURS)).unwrap();
    // The target stops answering PREEMPT (refused): nexus by nexus.
    r.t.refuse_preempt = true;
    r.actions.clear();
    r.op(PrOp::Unregister).unwrap();
    assert_eq!(r.commands(|c| *c == PrCommand::Unregister), 2);
    assert!(r.t.regs.is_empty());
}

/// A notice is acted on only with a key set and not fenced: no READ KEYS
/// for a host that registers nothing, none after the fence.
#[test]
fn notices_are_checked_only_while_registered_and_not_fenced() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    assert_eq!(r.c.poll_action(), None, "no key: nothing to check");
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.regs.retain(|x| x.1 != OURS);
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(r.c.is_fenced());
    r.c.handle_notices(r.paths[1], Notices::RESERVATIONS_PREEMPTED);
    assert_eq!(r.c.poll_action(), None, "fenced: nothing more to check");
}

/// Fewer of our keys than we registered, and we did not remove them: only
/// another host (a preemption, a clear, a registration replaced on one of
/// our nexuses) does that. Fenced, and the registrations left are taken
/// out, never registered again behind the fence.
#[test]
fn a_verify_that_finds_keys_missing_fences_and_cleans_up() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let lost = nexus(r.paths[1]);
    r.t.regs.retain(|x| x.0 != lost);
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(r.c.is_fenced());
    assert!(r.events.contains(&PrEvent::Fenced), "{:?}", r.events);
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Register { .. })),
        2,
        "only the first registration round: {:?}",
        r.actions
    );
    for &p in &r.paths {
        assert!(!r.c.admitted(p));
        assert_eq!(r.t.key_of(nexus(p)), None, "{p:?}");
    }
    // Sticky until the user registers again.
    r.c.path_down(r.paths[0]);
    r.c.path_up(r.paths[0]);
    r.run();
    assert!(r.c.is_fenced());
    assert_eq!(r.t.key_of(nexus(r.paths[0])), None);
    r.op(PrOp::Register(OURS)).unwrap();
    assert!(!r.c.is_fenced());
    assert!(r.paths.iter().all(|&p| r.c.admitted(p)));
}

/// A single command that fails on a path is retried on another, never on
/// the same one again.
#[test]
fn a_failed_single_command_moves_to_another_path() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let first = r.paths[0];
    r.t.down.push(nexus(first));
    r.actions.clear();
    r.op(PrOp::ReadReservation).unwrap();
    let vias: Vec<PathId> = r.actions.iter().map(|a| a.via).collect();
    assert_eq!(vias.iter().filter(|&&v| v == first).count(), 1, "{vias:?}");
    assert_eq!(vias.len(), 2, "{vias:?}");
}

/// After unregistering, paths are in no registration state at all (not
/// "failed"): nothing is retried on them.
#[test]
fn unregistered_paths_are_unknown_not_failed() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Unregister).unwrap();
    for &p in &r.paths {
        assert_eq!(r.c.state(p), Some(RegState::Unknown));
    }
    assert!(r.t.regs.is_empty());
}

/// A preemption notice that arrives while an operation runs already holds
/// I/O: the check it calls for is pending.
#[test]
fn a_pending_check_holds_io() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.c.submit(PrOp::ReadReservation).unwrap();
    let a = r.c.poll_action().unwrap();
    assert!(!r.c.is_quiesced());
    r.c.handle_notices(r.paths[1], Notices::REGISTRATIONS_PREEMPTED);
    assert!(r.c.is_quiesced(), "the check is pending");
    let reply = r.t.exec(nexus(a.via), a.command, OURS);
    assert!(r.c.reply(a.via, reply));
    r.run();
    assert!(!r.c.is_quiesced(), "checked: our keys are all there");
}

/// With ALL_TG_PT, initiator ports are told apart by their whole id: two
/// ports whose ids agree in their low bits are still two registrations to
/// remove.
#[test]
fn unregister_tells_apart_ports_with_large_ids() {
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 2, &[100, 164]);
    r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(r.t.regs.len(), 2);
    r.op(PrOp::Unregister).unwrap();
    assert!(r.t.regs.is_empty(), "{:?}", r.t.regs);
}

/// PREEMPT of our own key while another host holds the reservation is
/// refused (rule 5) and sends no PREEMPT; PREEMPT of another host's key
/// goes out at once.
#[test]
fn preempt_of_our_own_key_needs_our_reservation() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.regs.push((900, THEIRS));
    r.t.resv = Some((900, THEIRS, PrType::WriteExclusive));
    r.actions.clear();
    let own = PrOp::Preempt {
        victim: OURS,
        rtype: PrType::ExclusiveAccess,
        abort: false,
    };
    assert_eq!(r.op(own), Err(PrError::NotHolder));
    assert_eq!(r.commands(|c| matches!(c, PrCommand::Preempt { .. })), 0);
    let theirs = PrOp::Preempt {
        victim: THEIRS,
        rtype: PrType::WriteExclusive,
        abort: false,
    };
    r.op(theirs).unwrap();
    assert!(r.t.key_of(900).is_none(), "their registration is gone");
    assert_eq!(r.c.reservation(), Some(PrType::WriteExclusive));
}

/// A registration that completes for a key we no longer use is not taken
/// as ours: the path is registered again with the key we use now.
#[test]
fn a_registration_for_an_old_key_is_redone() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let p = r.paths[1];
    // `p` was down through a key change; back up, it registers the key
    // then in use, and the user changes the key while that is in flight.
    r.c.path_down(p);
    r.t.down.push(nexus(p));
    r.op(PrOp::Unregister).unwrap();
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.down.clear();
    r.c.path_up(p);
    // It looks first (READ KEYS: our key is still on the other path).
    let look = r.c.poll_action().unwrap();
    assert_eq!(look.command, PrCommand::ReadKeys);
    let reply = r.t.exec(nexus(p), look.command, OURS);
    assert!(r.c.reply(p, reply));
    let sent = r.c.poll_action().unwrap();
    assert_eq!(sent.command, PrCommand::Register { key: OURS });
    r.c.submit(PrOp::Register(OURS + 1)).unwrap();
    let reply = r.t.exec(nexus(p), sent.command, OURS);
    assert!(r.c.reply(p, reply));
    assert_ne!(
        r.c.state(p),
        Some(RegState::Registered),
        "not with the old key"
    );
    let mut resent = false;
    while let Some(a) = r.c.poll_action() {
        resent |= a.via == p && a.command == (PrCommand::Register { key: OURS + 1 });
        let reply = r.t.exec(nexus(a.via), a.command, OURS + 1);
        assert!(r.c.reply(a.via, reply));
    }
    assert!(resent);
    assert_eq!(r.t.key_of(nexus(p)), Some(OURS + 1));
}

/// Drive a bare coordinator: answer each command with `answer`.
fn drive(c: &mut Coordinator<8>, mut answer: impl FnMut(PrAction) -> PrReply) -> Vec<PrEvent> {
    for _ in 0..100 {
        let Some(a) = c.poll_action() else { break };
        let reply = answer(a);
        assert!(c.reply(a.via, reply));
    }
    std::iter::from_fn(|| c.poll_event()).collect()
}

fn bare(n: u32) -> (Coordinator<8>, Vec<PathId>) {
    let mut c = Coordinator::new(RegistrationScope::Nexus);
    let paths: Vec<PathId> = (0..n).map(|i| PathId::from_raw(0x0001_0000 | i)).collect();
    for (i, &p) in paths.iter().enumerate() {
        c.path_added(p, i as u32, true);
    }
    (c, paths)
}

/// How a registration ends: every path failing is `NoPath` with no READ
/// KEYS; READ KEYS finding none of ours is `Fenced`; an answer that makes
/// no sense for the command is `Refused`, never silence.
#[test]
fn operation_results_for_failed_registrations_and_odd_answers() {
    let (mut c, _) = bare(2);
    c.submit(PrOp::Register(OURS)).unwrap();
    let mut reads = 0;
    let events = drive(&mut c, |a| {
        reads += usize::from(a.command == PrCommand::ReadKeys);
        PrReply::PathFailed
    });
    assert_eq!(reads, 0);
    assert!(events.contains(&PrEvent::Finished {
        op: PrOp::Register(OURS),
        result: Err(PrError::NoPath)
    }));

    let (mut c, _) = bare(2);
    c.submit(PrOp::Register(OURS)).unwrap();
    let events = drive(&mut c, |a| match a.command {
        PrCommand::ReadKeys => PrReply::Keys {
            ours: 0,
            total: 1,
            here: None,
        },
        _ => PrReply::Done,
    });
    assert!(
        events.contains(&PrEvent::Finished {
            op: PrOp::Register(OURS),
            result: Err(PrError::Fenced)
        }),
        "{events:?}"
    );

    let (mut c, _) = bare(1);
    c.submit(PrOp::ReadReservation).unwrap();
    let events = drive(&mut c, |_| PrReply::Done);
    assert_eq!(
        events,
        [PrEvent::Finished {
            op: PrOp::ReadReservation,
            result: Err(PrError::Refused)
        }]
    );
}

/// Changing our reservation's type is a PREEMPT of our own key, sent only
/// after READ RESERVATION shows the reservation is ours.
#[test]
fn a_type_change_by_preempting_our_own_key() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    r.actions.clear();
    let change = PrOp::Preempt {
        victim: OURS,
        rtype: PrType::ExclusiveAccessRegistrantsOnly,
        abort: false,
    };
    r.op(change).unwrap();
    let cmds: Vec<PrCommand> = r.actions.iter().map(|a| a.command).collect();
    assert_eq!(cmds[0], PrCommand::ReadReservation, "{cmds:?}");
    assert!(
        matches!(cmds[1], PrCommand::Preempt { victim: OURS, .. }),
        "{cmds:?}"
    );
    assert_eq!(
        r.c.reservation(),
        Some(PrType::ExclusiveAccessRegistrantsOnly)
    );
    assert_eq!(
        r.t.resv.map(|x| x.2),
        Some(PrType::ExclusiveAccessRegistrantsOnly)
    );
    assert_eq!(r.t.resv.map(|x| x.0), r.c.holder().map(nexus));
}

/// A PREEMPT of a registered key that holds nothing leaves another host's
/// reservation where it is: we do not hold it afterwards.
#[test]
fn preempting_a_key_that_holds_nothing_takes_no_reservation() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.regs.push((900, THEIRS));
    r.t.regs.push((901, 0xC3));
    r.t.resv = Some((900, THEIRS, PrType::WriteExclusive));
    r.op(PrOp::Preempt {
        victim: 0xC3,
        rtype: PrType::WriteExclusiveRegistrantsOnly,
        abort: false,
    })
    .unwrap();
    assert!(r.t.key_of(901).is_none());
    assert_eq!(r.t.resv.map(|x| x.1), Some(THEIRS));
    assert_eq!(r.c.reservation(), None);
}

/// The holder's nexus dies while an operation runs: the move waits for it,
/// then runs. If another host holds the reservation by then, nothing is
/// preempted (rule 5).
#[test]
fn a_move_queued_behind_an_operation() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    let holder = r.c.holder().unwrap();
    r.c.submit(PrOp::ReadKeys).unwrap();
    r.t.down.push(nexus(holder));
    r.c.path_down(holder);
    assert!(r.c.is_quiesced());
    r.run();
    let new = r.c.holder().expect("moved once the operation ended");
    assert_ne!(new, holder);
    assert_eq!(r.t.resv.map(|x| x.0), Some(nexus(new)));

    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    let holder = r.c.holder().unwrap();
    // Behind our back another host now holds it.
    r.t.regs.push((900, THEIRS));
    r.t.resv = Some((900, THEIRS, PrType::WriteExclusive));
    r.actions.clear();
    r.t.down.push(nexus(holder));
    r.c.path_down(holder);
    r.run();
    assert_eq!(r.commands(|c| matches!(c, PrCommand::Preempt { .. })), 0);
    assert_eq!(r.c.reservation(), None);
    assert_eq!(r.t.resv.map(|x| x.1), Some(THEIRS));
}

/// ALL_TG_PT coverage as paths come and go: a new path on a registered
/// port is covered with no command, one on a new port is registered, and
/// a port whose registration failed on one path is registered through
/// another; the key count expected by READ KEYS counts target ports.
#[test]
fn initiator_port_coverage_follows_paths() {
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 2, &[1, 2]);
    r.op(PrOp::Register(OURS)).unwrap();
    let sent = r.commands(|c| matches!(c, PrCommand::Register { .. }));
    assert_eq!(sent, 2);
    // Same port as path 0: covered at once, nothing sent.
    let same = PathId::from_raw(0x0001_0002);
    r.c.path_added(same, 1, true);
    r.t.ports.push((nexus(same), 1));
    r.t.set_reg(nexus(same), OURS);
    assert!(r.c.admitted(same));
    assert_eq!(r.c.state(same), Some(RegState::Registered));
    r.run();
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Register { .. })),
        sent
    );
    // A new port: registered before it is admitted.
    let new = PathId::from_raw(0x0001_0003);
    r.c.path_added(new, 3, true);
    r.t.ports.push((nexus(new), 3));
    assert!(!r.c.admitted(new));
    r.run();
    assert!(r.c.admitted(new));
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Register { .. })),
        sent + 1
    );
    // A preemption check finds every nexus of every port holding our key:
    // nothing missing, nothing re-registered, not fenced.
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(!r.c.is_fenced());
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Register { .. })),
        sent + 1
    );
    for p in [r.paths[0], r.paths[1], same, new] {
        assert!(r.c.admitted(p), "{p:?}");
    }
}

/// RELEASE from a process that does not know which nexus holds our
/// reservation (a fresh `mpathpersist` run; the holder an old session's
/// nexus): a RELEASE from any other nexus would be GOOD and release
/// nothing. The reservation is taken over (PREEMPT of our own key from a
/// live nexus, which also drops the old session's registration) and
/// released from there; the target has no reservation and no stale key.
#[test]
fn release_without_knowing_the_holder_takes_it_over_first() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    // An earlier run registered and reserved through a session (nexus
    // 999) this process does not have.
    r.t.regs.push((999, OURS));
    r.t.resv = Some((999, OURS, PrType::WriteExclusive));
    r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(r.c.holder(), None);
    r.actions.clear();
    let rep = r.op(PrOp::Release).unwrap();
    assert_eq!(r.t.resv, None, "released: {:?}", r.actions);
    assert_eq!(rep.reservation, None);
    assert_eq!(r.c.reservation(), None);
    assert_eq!(
        r.t.key_of(999),
        None,
        "the old session's key went with the takeover"
    );
    let cmds: Vec<PrCommand> = r.actions.iter().map(|a| a.command).collect();
    let preempt = cmds
        .iter()
        .position(|c| matches!(c, PrCommand::Preempt { victim: OURS, .. }))
        .expect("taken over");
    let release = cmds
        .iter()
        .position(|c| matches!(c, PrCommand::Release { .. }))
        .expect("released");
    assert!(preempt < release, "{cmds:?}");
    // Every path of ours is registered again and admitted.
    for &p in &r.paths {
        assert_eq!(r.t.key_of(nexus(p)), Some(OURS));
        assert!(r.c.admitted(p));
    }
    // Not ours: an error, and nothing sent but the look.
    r.t.resv = Some((900, THEIRS, PrType::WriteExclusive));
    r.t.regs.push((900, THEIRS));
    r.actions.clear();
    assert_eq!(r.op(PrOp::Release), Err(PrError::NotHolder));
    assert_eq!(
        r.actions.iter().map(|a| a.command).collect::<Vec<_>>(),
        vec![PrCommand::ReadReservation]
    );
    assert_eq!(r.t.resv.map(|x| x.1), Some(THEIRS));
}

/// A registration the target refuses on every path (an option it does not
/// support) is reported as refused, not as "no path"; key 0 is no key.
#[test]
fn registration_refused_everywhere_is_reported_as_refused() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    assert_eq!(r.c.submit(PrOp::Register(0)), Err(PrError::ZeroKey));
    assert_eq!(r.c.key(), None);
    r.c.submit(PrOp::Register(OURS)).unwrap();
    while let Some(a) = r.c.poll_action() {
        assert!(r.c.reply(a.via, PrReply::Refused));
    }
    let e = r.c.poll_event();
    assert_eq!(
        e,
        Some(PrEvent::Finished {
            op: PrOp::Register(OURS),
            result: Err(PrError::Refused)
        })
    );
    // A path failure everywhere is "no path".
    r.c.submit(PrOp::Register(OURS)).unwrap();
    while let Some(a) = r.c.poll_action() {
        assert!(r.c.reply(a.via, PrReply::PathFailed));
    }
    assert_eq!(
        r.c.poll_event(),
        Some(PrEvent::Finished {
            op: PrOp::Register(OURS),
            result: Err(PrError::NoPath)
        })
    );
}

/// A new key takes the old one's registrations over first (PREEMPT of the
/// old key from a registered nexus), so none is left on a nexus no path
/// reaches, and a reservation held under the old key carries over.
#[test]
fn a_new_key_removes_the_old_one_everywhere_and_keeps_the_reservation() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    // A session from before holds the old key too.
    r.t.regs.push((999, OURS));
    r.actions.clear();
    r.op(PrOp::Register(0xC3)).unwrap();
    assert!(
        r.t.regs.iter().all(|&(_, k)| k == 0xC3),
        "old key left: {:?}",
        r.t.regs
    );
    assert_eq!(r.t.regs.len(), 2);
    let (_, k, t) = r.t.resv.unwrap();
    assert_eq!((k, t), (0xC3, PrType::WriteExclusive));
    assert_eq!(r.c.reservation(), Some(PrType::WriteExclusive));
    let holder = r.c.holder().unwrap();
    assert_eq!(r.t.resv.unwrap().0, nexus(holder));
    assert!(!r.t.write_conflicts(nexus(holder)));
    assert_eq!(
        r.commands(|c| matches!(
            c,
            PrCommand::Preempt {
                victim: OURS,
                key: OURS,
                ..
            }
        )),
        1
    );
}

/// Admission per type (SPC-4 table 217), for the holder's nexus and
/// another registered one: reads and writes.
#[test]
fn admission_follows_the_reservation_type() {
    use PrType::*;
    for (t, other_reads, other_writes) in [
        (WriteExclusive, true, false),
        (ExclusiveAccess, false, false),
        (WriteExclusiveRegistrantsOnly, true, true),
        (ExclusiveAccessRegistrantsOnly, true, true),
        (WriteExclusiveAllRegistrants, true, true),
        (ExclusiveAccessAllRegistrants, true, true),
    ] {
        let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
        r.op(PrOp::Register(OURS)).unwrap();
        r.op(PrOp::Reserve(t)).unwrap();
        let holder = r.c.holder().unwrap_or(r.paths[0]);
        let other = *r.paths.iter().find(|&&p| p != holder).unwrap();
        assert!(r.c.admits_read(holder) && r.c.admits_write(holder), "{t:?}");
        assert!(r.c.admitted(other), "{t:?}: the registration gate");
        assert_eq!(r.c.admits_read(other), other_reads, "{t:?} reads");
        assert_eq!(r.c.admits_write(other), other_writes, "{t:?} writes");
        // What the target does with it.
        assert_eq!(r.t.read_conflicts(nexus(other)), !other_reads, "{t:?}");
        assert_eq!(r.t.write_conflicts(nexus(other)), !other_writes, "{t:?}");
    }
}

/// A single command that does not need a registration (READ KEYS) and
/// fails on a path goes to each other path once, then ends with NoPath:
/// never twice on one path.
#[test]
fn a_read_that_fails_everywhere_tries_each_path_once() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.c.submit(PrOp::ReadKeys).unwrap();
    let mut tried = Vec::new();
    while let Some(a) = r.c.poll_action() {
        assert_eq!(a.command, PrCommand::ReadKeys);
        assert!(!tried.contains(&a.via), "{:?} twice", a.via);
        tried.push(a.via);
        assert!(r.c.reply(a.via, PrReply::PathFailed));
    }
    assert_eq!(tried.len(), 3);
    assert_eq!(
        r.c.poll_event(),
        Some(PrEvent::Finished {
            op: PrOp::ReadKeys,
            result: Err(PrError::NoPath)
        })
    );
}

/// A joining nexus's second look (after it registered) taken across our
/// own move's PREEMPT sees fewer of our keys, because the PREEMPT removed
/// them, not another host: it looks again rather than fencing.
#[test]
fn a_join_straddling_our_own_preempt_looks_again() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder().unwrap();
    let others: Vec<PathId> = r.paths.iter().copied().filter(|&p| p != holder).collect();
    let joiner = others[1];
    // The joiner logs in again as a new I_T nexus: it looks (3 of ours,
    // the old nexus's among them) and registers.
    r.t.replaced.push((nexus(joiner), 300));
    r.c.nexus_replaced(joiner, 300);
    let exec = |r: &mut Rig, a: PrAction| {
        let reply = r.t.exec(nexus(a.via), a.command, OURS);
        r.t.settle();
        r.actions.push(a);
        assert!(r.c.reply(a.via, reply));
    };
    let look = r.c.poll_action().unwrap();
    assert_eq!((look.via, look.command), (joiner, PrCommand::ReadKeys));
    exec(&mut r, look);
    let reg = r.c.poll_action().unwrap();
    assert_eq!(reg.command, PrCommand::Register { key: OURS });
    exec(&mut r, reg);
    // Its second look is handed out; before it reaches the target the
    // holder dies and the move's PREEMPT goes first.
    let confirm = r.c.poll_action().unwrap();
    assert_eq!(
        (confirm.via, confirm.command),
        (joiner, PrCommand::ReadKeys)
    );
    r.t.down.push(nexus(holder));
    r.c.path_down(holder);
    let mut preempt = None;
    while let Some(a) = r.c.poll_action() {
        if matches!(a.command, PrCommand::Preempt { .. }) {
            // The target carries it out; its answer is still on the way.
            let reply = r.t.exec(nexus(a.via), a.command, OURS);
            r.t.settle();
            preempt = Some((a, reply));
            break;
        }
        exec(&mut r, a);
    }
    let (preempt, preempt_reply) = preempt.expect("the move preempts our key");
    // Now the look: fewer of ours than it saw, by our own doing.
    exec(&mut r, confirm);
    assert!(!r.c.is_fenced(), "{:?}", r.actions);
    assert!(r.c.reply(preempt.via, preempt_reply));
    r.run();
    assert!(!r.c.is_fenced(), "{:?}", r.actions);
    r.t.down.clear();
    for &p in &others {
        assert!(r.c.admitted(p), "{p:?}");
        assert_eq!(r.t.key_of(r.t.current(nexus(p))), Some(OURS));
    }
}

/// The takeovers (a PREEMPT of our own key before a key change or an
/// unregistration) run only where they mean something: not with NVMe's
/// host-scoped registrations (one registration, nothing left elsewhere),
/// not while fenced, not without a registered path to send from, and not
/// for the key already in use.
#[test]
fn takeovers_run_only_where_they_mean_something() {
    let preempts = |r: &Rig| r.commands(|c| matches!(c, PrCommand::Preempt { .. }));
    // Host scope: plain registration and unregistration.
    let mut r = Rig::new(RegistrationScope::Host, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Register(0xC3)).unwrap();
    r.op(PrOp::Unregister).unwrap();
    assert_eq!(preempts(&r), 0, "{:?}", r.actions);
    assert_eq!(r.c.key(), None);
    // The same key again: nothing to take over.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(preempts(&r), 0, "{:?}", r.actions);
    // A new key with a registered path: one takeover.
    r.op(PrOp::Register(0xC3)).unwrap();
    assert_eq!(preempts(&r), 1);
    // Fenced: a new key registers plainly (nothing of ours is left to
    // take over), and so does an unregistration.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.regs.clear();
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(r.c.is_fenced());
    r.actions.clear();
    r.op(PrOp::Unregister).unwrap();
    assert_eq!(preempts(&r), 0, "{:?}", r.actions);
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.regs.clear();
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    r.actions.clear();
    r.op(PrOp::Register(0xC3)).unwrap();
    assert_eq!(preempts(&r), 0, "{:?}", r.actions);
    assert!(!r.c.is_fenced(), "registering again lifts the fence");
    assert!(r.paths.iter().all(|&p| r.c.admitted(p)));
    // No path up at all: refused, the old key kept, nothing sent.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    for &p in &r.paths.clone() {
        r.c.path_down(p);
    }
    r.actions.clear();
    assert_eq!(r.c.submit(PrOp::Register(0xC3)), Err(PrError::NoPath));
    assert_eq!(r.c.key(), Some(OURS));
    assert_eq!(r.c.poll_action(), None);
    // Unregister without a key: nothing to take over.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Unregister).unwrap();
    assert_eq!(preempts(&r), 0);
}

/// A move off a holder that cannot carry I/O, refused by the target, is
/// not tried again for the same usable paths (that would loop), only when
/// they change; the refusal leads to a check of our keys.
#[test]
fn a_refused_move_off_a_stranded_holder_waits_for_the_paths_to_change() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let all = r.mask(&[0, 1, 2]);
    r.c.set_usable(all);
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder().unwrap();
    let preempts = |r: &Rig| r.commands(|c| matches!(c, PrCommand::Preempt { .. }));
    r.t.refuse_preempt = true;
    r.actions.clear();
    let without_holder = all & !(1 << holder.slot());
    r.c.set_usable(without_holder);
    r.run();
    assert_eq!(preempts(&r), 1, "{:?}", r.actions);
    assert!(
        r.actions.iter().any(|a| a.command == PrCommand::ReadKeys),
        "the refusal is checked: {:?}",
        r.actions
    );
    assert!(!r.c.is_fenced());
    assert_eq!(r.c.holder(), Some(holder));
    // The same paths again: no second attempt.
    r.c.set_usable(without_holder);
    r.run();
    assert_eq!(preempts(&r), 1);
    // They change (one more goes away): tried again, and now it works.
    r.t.refuse_preempt = false;
    let one = without_holder & (without_holder - 1);
    r.c.set_usable(one);
    r.run();
    assert_eq!(preempts(&r), 2);
    let moved = r.c.holder().unwrap();
    assert_ne!(moved, holder);
    assert_eq!(1 << moved.slot(), one);
}

// ----- survivors of the coordinator's mutation run -----

/// Poll every action the coordinator has now, without answering.
fn pending(r: &mut Rig) -> Vec<PrAction> {
    std::iter::from_fn(|| r.c.poll_action()).collect()
}

/// Answer one action on the target model and record it.
fn answer(r: &mut Rig, a: PrAction) {
    let ours = r.c.key().unwrap_or(OURS);
    let reply = r.t.exec(nexus(a.via), a.command, ours);
    r.t.settle();
    r.actions.push(a);
    assert!(r.c.reply(a.via, reply));
}

/// A registration answered after the key changed is not the key in use:
/// the path stays out (Registering, the new key on its way), it is not
/// admitted on the old key's registration.
#[test]
fn a_registration_answered_for_an_old_key_does_not_admit() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let (p0, p1) = (r.paths[0], r.paths[1]);
    // p1 joins again (a new nexus); its REGISTER of the key in use goes out.
    r.t.replaced.push((nexus(p1), 300));
    r.c.nexus_replaced(p1, 300);
    let look = r.c.poll_action().unwrap();
    answer(&mut r, look);
    let reg = r.c.poll_action().unwrap();
    assert_eq!(reg.command, PrCommand::Register { key: OURS });
    // p0 goes down and the key changes (nothing registered to take over
    // from: nexus by nexus).
    r.c.path_down(p0);
    r.c.submit(PrOp::Register(0xC3)).unwrap();
    // The old REGISTER's answer.
    answer(&mut r, reg);
    assert!(!r.c.admitted(p1));
    assert_eq!(r.c.state(p1), Some(RegState::Registering));
    r.run();
    assert!(r.c.admitted(p1));
    assert_eq!(r.t.key_of(300), Some(0xC3));
}

/// A join's answer that comes back after the key was dropped does
/// nothing: no fence from a count of zero keys we no longer hold.
#[test]
fn a_join_answered_after_unregistering_does_not_fence() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let p1 = r.paths[1];
    r.t.replaced.push((nexus(p1), 300));
    r.c.nexus_replaced(p1, 300);
    let look = r.c.poll_action().unwrap();
    assert_eq!(look.command, PrCommand::ReadKeys);
    // Unregister meanwhile; its takeover runs on p0.
    r.c.submit(PrOp::Unregister).unwrap();
    r.run();
    assert_eq!(r.c.key(), None);
    assert!(r.c.reply(
        look.via,
        PrReply::Keys {
            ours: 0,
            total: 0,
            here: None
        }
    ));
    assert!(!r.c.is_fenced());
    assert!(r.c.admitted(p1), "no key: every path admitted");
    // The same when no registered path is up and unregistering goes nexus
    // by nexus (the join is not called off then).
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let p1 = r.paths[1];
    r.t.replaced.push((nexus(p1), 300));
    r.c.nexus_replaced(p1, 300);
    let look = r.c.poll_action().unwrap();
    r.c.path_down(r.paths[0]);
    r.c.submit(PrOp::Unregister).unwrap();
    r.run();
    assert_eq!(r.c.key(), None);
    assert!(r.c.reply(
        look.via,
        PrReply::Keys {
            ours: 0,
            total: 0,
            here: None
        }
    ));
    r.run();
    assert!(!r.c.is_fenced());
    assert!(r.c.admitted(p1));
}

/// A join's second look that finds fewer of our keys than we count
/// registered fences, even when it finds as many as the first look did.
#[test]
fn a_join_that_finds_fewer_keys_than_registered_fences() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let p1 = r.paths[1];
    let p2 = r.paths[2];
    // p1's registration is gone without a notice, and p2 logs in again.
    r.t.regs.retain(|x| x.0 != nexus(p1) && x.0 != nexus(p2));
    r.t.replaced.push((nexus(p2), 300));
    r.c.nexus_replaced(p2, 300);
    r.run();
    assert!(r.c.is_fenced(), "{:?}", r.actions);
    assert_eq!(
        r.t.key_of(300),
        None,
        "the registration behind the fence is removed"
    );
}

/// A key change whose takeover the target refuses registers the new key
/// nexus by nexus; a registration round whose check finds no path left
/// ends with NoPath instead of starting over.
#[test]
fn a_refused_key_change_takeover_falls_back_and_a_lost_check_ends() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.refuse_preempt = true;
    r.op(PrOp::Register(0xC3)).unwrap();
    assert!(r.t.regs.iter().all(|&(_, k)| k == 0xC3), "{:?}", r.t.regs);
    assert!(r.paths.iter().all(|&p| r.c.admitted(p)));
    // Every registration answered, then every path lost before the check.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.c.submit(PrOp::Register(OURS)).unwrap();
    for a in pending(&mut r) {
        answer(&mut r, a);
    }
    for &p in &r.paths.clone() {
        r.c.path_down(p);
    }
    assert_eq!(r.c.poll_action(), None);
    assert_eq!(
        r.c.poll_event(),
        Some(PrEvent::Finished {
            op: PrOp::Register(OURS),
            result: Err(PrError::NoPath)
        })
    );
}

/// A type change, or a release's takeover, whose final check finds our
/// keys gone reports the fence, not success.
#[test]
fn a_move_that_ends_fenced_reports_fenced() {
    for op in [PrOp::Reserve(PrType::ExclusiveAccess), PrOp::Release] {
        let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
        r.op(PrOp::Register(OURS)).unwrap();
        r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
        if op == PrOp::Release {
            // A fresh process: the holder is not known.
            let mut fresh = Rig::new(RegistrationScope::Nexus, 2, &[]);
            fresh.t = std::mem::take(&mut r.t);
            r = fresh;
            r.op(PrOp::Register(OURS)).unwrap();
        }
        r.c.submit(op).unwrap();
        // Answer until the PREEMPT of our own key has gone through and the
        // registrations are back; then another host clears ours before
        // the final READ KEYS.
        let mut preempted = false;
        for _ in 0..50 {
            let Some(a) = r.c.poll_action() else { break };
            if preempted && a.command == PrCommand::ReadKeys {
                r.t.regs.retain(|x| x.0 == nexus(a.via));
            }
            preempted |= matches!(a.command, PrCommand::Preempt { .. });
            answer(&mut r, a);
        }
        let result = std::iter::from_fn(|| r.c.poll_event()).find_map(|e| match e {
            PrEvent::Finished { op: o, result } if o == op => Some(result),
            _ => None,
        });
        assert_eq!(
            result,
            Some(Err(PrError::Fenced)),
            "{op:?}: {:?}",
            r.actions
        );
    }
}

/// Releasing an all-registrants reservation, or any reservation with
/// host-scoped registrations, needs no holder's nexus: no takeover.
#[test]
fn releases_without_a_holder_nexus_take_nothing_over() {
    for (scope, t) in [
        (
            RegistrationScope::Nexus,
            PrType::WriteExclusiveAllRegistrants,
        ),
        (RegistrationScope::Host, PrType::WriteExclusive),
    ] {
        let mut r = Rig::new(scope, 2, &[]);
        r.op(PrOp::Register(OURS)).unwrap();
        r.op(PrOp::Reserve(t)).unwrap();
        r.actions.clear();
        r.op(PrOp::Release).unwrap();
        assert_eq!(
            r.commands(|c| matches!(c, PrCommand::Preempt { .. })),
            0,
            "{scope:?} {t:?}: {:?}",
            r.actions
        );
        assert_eq!(r.t.resv, None, "{scope:?} {t:?}");
    }
}

/// A type change from an all-registrants type releases, then reserves the
/// new type.
#[test]
fn a_type_change_from_all_registrants_releases_then_reserves() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::ExclusiveAccessAllRegistrants))
        .unwrap();
    r.actions.clear();
    r.op(PrOp::Reserve(PrType::WriteExclusiveRegistrantsOnly))
        .unwrap();
    let cmds: Vec<PrCommand> = r.actions.iter().map(|a| a.command).collect();
    let release = cmds
        .iter()
        .position(|c| matches!(c, PrCommand::Release { .. }));
    let reserve = cmds
        .iter()
        .position(|c| matches!(c, PrCommand::Reserve { .. }));
    assert!(release.is_some() && release < reserve, "{cmds:?}");
    assert_eq!(
        r.t.resv.map(|x| x.2),
        Some(PrType::WriteExclusiveRegistrantsOnly)
    );
    assert_eq!(
        r.c.reservation(),
        Some(PrType::WriteExclusiveRegistrantsOnly)
    );
    assert!(r.c.holder().is_some());
}

/// A holder that cannot carry I/O, whose reservation turns out to be an
/// all-registrants one (taken over by a type change we did not see):
/// nothing to move; the type is adopted and the keys are checked.
#[test]
fn a_stranded_holder_of_an_all_registrants_reservation_is_not_moved() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.c.set_usable(r.mask(&[0, 1]));
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder().unwrap();
    let (h, k, _) = r.t.resv.unwrap();
    r.t.resv = Some((h, k, PrType::WriteExclusiveAllRegistrants));
    r.actions.clear();
    r.c.set_usable(r.mask(&[0, 1]) & !(1 << holder.slot()));
    r.run();
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Release { .. } | PrCommand::Preempt { .. })),
        0,
        "{:?}",
        r.actions
    );
    assert_eq!(
        r.c.reservation(),
        Some(PrType::WriteExclusiveAllRegistrants)
    );
    assert_eq!(r.c.holder(), None);
    assert!(r.actions.iter().any(|a| a.command == PrCommand::ReadKeys));
}

/// After a move, a path that is down is marked stale (registered again
/// when it returns), not left waiting on a registration it cannot send.
#[test]
fn a_move_marks_a_down_path_stale() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder().unwrap();
    let others: Vec<PathId> = r.paths.iter().copied().filter(|&p| p != holder).collect();
    r.c.path_down(others[1]);
    r.t.down.push(nexus(others[1]));
    r.t.down.push(nexus(holder));
    r.c.path_down(holder);
    r.run();
    assert_eq!(r.c.holder(), Some(others[0]));
    assert_eq!(r.c.state(others[1]), Some(RegState::Stale));
}

/// A holder that dies while a type change runs: the change moves the
/// reservation to a live nexus itself, so the move queued behind it has
/// nothing left to do.
#[test]
fn a_move_queued_behind_a_type_change_that_moved_it_is_dropped() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder().unwrap();
    r.actions.clear();
    r.c.submit(PrOp::Reserve(PrType::ExclusiveAccess)).unwrap();
    r.t.down.push(nexus(holder));
    r.c.path_down(holder);
    r.run();
    assert_eq!(r.c.reservation(), Some(PrType::ExclusiveAccess));
    assert_ne!(r.c.holder(), Some(holder));
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Preempt { .. })),
        1,
        "{:?}",
        r.actions
    );
}

/// With ALL_TG_PT, some targets list one registration per initiator
/// port, not per nexus: the check counts ports, so that is not a fence;
/// a new path on a registered port is covered at once, one on a new port
/// joins; a down path does not cover its port's other paths.
#[test]
fn all_tg_pt_counts_ports_and_covers_paths_of_registered_ports() {
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 3, &[7, 7, 9]);
    r.op(PrOp::Register(OURS)).unwrap();
    // The target lists one registration per port.
    let mut seen = Vec::new();
    let ports = r.t.ports.clone();
    r.t.regs.retain(|&(n, _)| {
        let port = ports.iter().find(|p| p.0 == n).map(|p| p.1);
        let first = !seen.contains(&port);
        seen.push(port);
        first
    });
    assert_eq!(r.t.regs.len(), 2);
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(!r.c.is_fenced(), "{:?}", r.actions);
    // A new path on port 7: covered, admitted, nothing sent.
    r.actions.clear();
    let p = PathId::from_raw(0x0001_0003);
    r.t.ports.push((nexus(p), 7));
    r.c.path_added(p, 7, true);
    assert!(r.c.admitted(p));
    assert_eq!(r.c.poll_action(), None);
    // One on a new port joins: looks, registers, looks again.
    let q = PathId::from_raw(0x0001_0004);
    r.t.ports.push((nexus(q), 11));
    r.c.path_added(q, 11, true);
    assert!(!r.c.admitted(q));
    r.run();
    assert!(r.c.admitted(q));
    assert_eq!(
        r.actions.iter().map(|a| a.command).collect::<Vec<_>>(),
        vec![
            PrCommand::ReadKeys,
            PrCommand::Register { key: OURS },
            PrCommand::ReadKeys
        ]
    );
    // A path that is down does not cover the other path of its port.
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 3, &[7, 7, 9]);
    r.c.path_down(r.paths[0]);
    r.op(PrOp::Register(OURS)).unwrap();
    assert!(r.c.admitted(r.paths[1]) && r.c.admitted(r.paths[2]));
    assert_eq!(r.commands(|c| matches!(c, PrCommand::Register { .. })), 2);
}

/// Only the single-holder types with per-nexus (or per-port) scopes have a
/// holder: all-registrants reservations and NVMe's host-scoped ones have
/// none, so losing a path moves nothing.
#[test]
fn only_single_holder_types_have_a_holder_nexus() {
    for (scope, t, holder) in [
        (RegistrationScope::Nexus, PrType::WriteExclusive, true),
        (
            RegistrationScope::InitiatorPort,
            PrType::ExclusiveAccess,
            true,
        ),
        (
            RegistrationScope::Nexus,
            PrType::WriteExclusiveAllRegistrants,
            false,
        ),
        (
            RegistrationScope::Nexus,
            PrType::ExclusiveAccessAllRegistrants,
            false,
        ),
        (RegistrationScope::Host, PrType::WriteExclusive, false),
    ] {
        let mut r = Rig::new(scope, 2, &[1, 2]);
        r.op(PrOp::Register(OURS)).unwrap();
        r.op(PrOp::Reserve(t)).unwrap();
        assert_eq!(r.c.holder().is_some(), holder, "{scope:?} {t:?}");
        if !holder {
            r.actions.clear();
            r.c.path_down(r.paths[0]);
            r.run();
            assert!(r.actions.is_empty(), "{scope:?} {t:?}: {:?}", r.actions);
        }
    }
}

/// A join's look answered after we were fenced registers nothing, whatever
/// it counted: nothing goes out behind a fence.
#[test]
fn a_join_answered_after_the_fence_registers_nothing() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let (p0, p1) = (r.paths[0], r.paths[1]);
    r.t.replaced.push((nexus(p1), 300));
    r.c.nexus_replaced(p1, 300);
    let look = r.c.poll_action().unwrap();
    assert_eq!((look.via, look.command), (p1, PrCommand::ReadKeys));
    // Another host preempts us; the check on p0 finds it.
    r.t.regs.retain(|x| x.1 != OURS);
    r.t.regs.push((900, THEIRS));
    r.c.handle_notices(p0, Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(r.c.is_fenced());
    r.actions.clear();
    // The look's answer, counting one of ours (stale by now).
    assert!(r.c.reply(
        p1,
        PrReply::Keys {
            ours: 1,
            total: 2,
            here: None
        }
    ));
    r.run();
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Register { .. })),
        0,
        "{:?}",
        r.actions
    );
    assert!(!r.c.admitted(p1));
}

/// The takeovers need a registered path that is up: a path that is up but
/// not registered sends no READ RESERVATION or PREEMPT as it is. It
/// registers the key in use first (the old key, for a key change), and the
/// takeover runs from there, so the registration of the path that is down
/// goes too (nexus by nexus it would stay until that path returned, or for
/// good if it never does).
#[test]
fn takeovers_need_a_registered_path_that_is_up() {
    for op in [PrOp::Register(0xC3), PrOp::Unregister] {
        let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
        let (p0, p1) = (r.paths[0], r.paths[1]);
        // p1's registration fails (refused); p0's succeeds.
        r.c.submit(PrOp::Register(OURS)).unwrap();
        while let Some(a) = r.c.poll_action() {
            let reply = if a.via == p1 {
                PrReply::Refused
            } else {
                r.t.exec(nexus(a.via), a.command, OURS)
            };
            assert!(r.c.reply(a.via, reply));
        }
        while r.c.poll_event().is_some() {}
        assert_eq!(r.c.state(p1), Some(RegState::Failed));
        r.c.path_down(p0);
        r.t.down.push(nexus(p0));
        r.actions.clear();
        r.c.submit(op).unwrap();
        r.run();
        let sent: Vec<PrCommand> = r.actions.iter().map(|a| a.command).collect();
        assert!(r.actions.iter().all(|a| a.via == p1), "{:?}", r.actions);
        assert_eq!(
            &sent[..3],
            &[
                PrCommand::Register { key: OURS },
                PrCommand::ReadReservation,
                PrCommand::Preempt {
                    key: OURS,
                    victim: OURS,
                    rtype: PrType::WriteExclusiveRegistrantsOnly,
                    abort: false
                },
            ],
            "{op:?}"
        );
        if op == PrOp::Unregister {
            assert_eq!(sent[3..], [PrCommand::Unregister]);
            assert!(r.t.regs.is_empty(), "p0's nexus too: {:?}", r.t.regs);
            assert_eq!(r.c.key(), None);
        } else {
            assert_eq!(r.t.regs, vec![(nexus(p1), 0xC3)], "p0's old key gone");
            assert_eq!(r.c.key(), Some(0xC3));
            assert!(r.c.admitted(p1));
        }
    }
}

/// Coverage is a shared-scope rule, by initiator port: a path whose
/// registration the target refused is not covered by a registered path on
/// another port, nor (per-nexus scope) by one that happens to carry the
/// same port number.
#[test]
fn a_refused_registration_is_not_covered_by_another_port_or_in_nexus_scope() {
    for (scope, ports) in [
        (RegistrationScope::InitiatorPort, [7u32, 9]),
        (RegistrationScope::Nexus, [5, 5]),
    ] {
        let mut r = Rig::new(scope, 2, &ports);
        let p1 = r.paths[1];
        r.c.submit(PrOp::Register(OURS)).unwrap();
        while let Some(a) = r.c.poll_action() {
            let reply = if a.via == p1 && matches!(a.command, PrCommand::Register { .. }) {
                PrReply::Refused
            } else {
                r.t.exec(nexus(a.via), a.command, OURS)
            };
            assert!(r.c.reply(a.via, reply));
        }
        assert!(r.c.admitted(r.paths[0]), "{scope:?}");
        assert!(!r.c.admitted(p1), "{scope:?}: refused, not covered");
        assert_eq!(r.c.state(p1), Some(RegState::Failed), "{scope:?}");
    }
}

/// A target listing one ALL_TG_PT registration per initiator port that
/// loses one port's: fewer ports than registered, a fence.
#[test]
fn all_tg_pt_a_port_whose_registration_is_gone_fences() {
    let mut r = Rig::new(RegistrationScope::InitiatorPort, 3, &[7, 7, 9]);
    r.op(PrOp::Register(OURS)).unwrap();
    // One entry per port, and then port 9's is gone.
    let keep = nexus(r.paths[0]);
    r.t.regs.retain(|&(n, _)| n == keep);
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(r.c.is_fenced(), "{:?}", r.actions);
}

/// With READ FULL STATUS the look names the joining nexus. Here the only
/// registration of ours is an old session's (nexus 100), the path's new
/// nexus (300) joins, and another host preempts our key between the look
/// and the REGISTER: READ KEYS would count one of ours both times and
/// admit the nexus behind the fence. The look said this nexus was not
/// registered, so the second must find two; it finds one: fenced, and the
/// registration just made is taken out again.
#[test]
fn full_status_sees_a_preemption_between_the_look_and_the_register() {
    let mut r = Rig::new(RegistrationScope::Nexus, 1, &[]);
    r.t.full_status = true;
    r.op(PrOp::Register(OURS)).unwrap();
    let p0 = r.paths[0];
    r.t.replaced.push((nexus(p0), 300));
    r.c.nexus_replaced(p0, 300);
    let look = r.c.poll_action().unwrap();
    assert_eq!(look.command, PrCommand::ReadKeys);
    let reply = r.t.exec(nexus(p0), look.command, OURS);
    assert_eq!(
        reply,
        PrReply::Keys {
            ours: 1,
            total: 1,
            here: Some(false)
        }
    );
    assert!(r.c.reply(look.via, reply));
    let reg = r.c.poll_action().unwrap();
    assert_eq!(reg.command, PrCommand::Register { key: OURS });
    // The other host preempts our key now.
    r.t.regs.retain(|x| x.1 != OURS);
    r.t.regs.push((900, THEIRS));
    answer(&mut r, reg);
    assert!(!r.c.admitted(p0), "not admitted before the second look");
    r.run();
    assert!(r.c.is_fenced(), "{:?}", r.actions);
    assert!(!r.c.admitted(p0));
    assert_eq!(r.t.key_of(300), None, "nothing of ours behind the fence");
    assert_eq!(r.t.regs, vec![(900, THEIRS)]);
}

/// Without the preemption the same join is admitted: two of ours after
/// one before.
#[test]
fn full_status_admits_a_new_nexus_that_registered_beside_an_old_one() {
    let mut r = Rig::new(RegistrationScope::Nexus, 1, &[]);
    r.t.full_status = true;
    r.op(PrOp::Register(OURS)).unwrap();
    let p0 = r.paths[0];
    r.t.replaced.push((nexus(p0), 300));
    r.c.nexus_replaced(p0, 300);
    r.run();
    assert!(!r.c.is_fenced());
    assert!(r.c.admitted(p0));
    assert_eq!(r.t.key_of(300), Some(OURS));
}

/// A path whose REGISTER landed while its answer was lost (the path went
/// down with the command out) joins when it returns; the look shows its
/// nexus registered with our key already, so it is admitted on the look
/// alone: no REGISTER goes out, so none can land behind a fence.
#[test]
fn full_status_admits_a_returning_nexus_that_is_still_registered_without_registering() {
    for landed in [true, false] {
        let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
        r.t.full_status = true;
        let p1 = r.paths[1];
        r.c.path_down(p1);
        r.t.down.push(nexus(p1));
        r.op(PrOp::Register(OURS)).unwrap();
        assert!(!r.c.admitted(p1));
        if landed {
            r.t.set_reg(nexus(p1), OURS);
        }
        r.t.down.clear();
        r.actions.clear();
        r.c.path_up(p1);
        r.run();
        assert!(r.c.admitted(p1), "landed {landed}");
        assert!(!r.c.is_fenced());
        assert_eq!(r.c.state(p1), Some(RegState::Registered));
        assert_eq!(r.t.key_of(nexus(p1)), Some(OURS));
        let registers = r.commands(|c| matches!(c, PrCommand::Register { .. }));
        assert_eq!(registers, usize::from(!landed), "{:?}", r.actions);
        let looks = r.commands(|c| *c == PrCommand::ReadKeys);
        assert_eq!(looks, if landed { 1 } else { 2 }, "{:?}", r.actions);
    }
}

/// A second look that names the nexus just registered as not registered
/// has seen our registration removed: fenced.
#[test]
fn full_status_confirm_without_this_nexus_fences() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let p1 = r.paths[1];
    r.t.replaced.push((nexus(p1), 300));
    r.c.nexus_replaced(p1, 300);
    let look = r.c.poll_action().unwrap();
    answer(&mut r, look);
    let reg = r.c.poll_action().unwrap();
    answer(&mut r, reg);
    let confirm = r.c.poll_action().unwrap();
    assert_eq!(confirm.command, PrCommand::ReadKeys);
    // Counts that would pass (three of ours: 100, 101 and 300), but the
    // nexus that asked is said not to hold one.
    assert!(r.c.reply(
        confirm.via,
        PrReply::Keys {
            ours: 3,
            total: 3,
            here: Some(false)
        }
    ));
    r.run();
    assert!(r.c.is_fenced());
    assert!(!r.c.admitted(p1));
}

/// A check after a notice, through a nexus we count registered, that names
/// it unregistered fences, though an old registration of ours elsewhere
/// makes the count come out right (READ KEYS alone would be fooled).
#[test]
fn full_status_verify_sees_this_nexus_lost_its_registration() {
    let mut r = Rig::new(RegistrationScope::Nexus, 1, &[]);
    r.t.full_status = true;
    r.op(PrOp::Register(OURS)).unwrap();
    let p0 = r.paths[0];
    r.t.regs.retain(|x| x.0 != nexus(p0));
    r.t.regs.push((999, OURS));
    r.c.handle_notices(p0, Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(r.c.is_fenced(), "{:?}", r.actions);
    assert!(r.events.contains(&PrEvent::Fenced));
    // READ KEYS alone: the count agrees and nothing is seen.
    let mut r = Rig::new(RegistrationScope::Nexus, 1, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.regs.retain(|x| x.0 != nexus(p0));
    r.t.regs.push((999, OURS));
    r.c.handle_notices(p0, Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(!r.c.is_fenced());
}

/// The window READ FULL STATUS closes, left open where only READ KEYS is
/// answered (`here: None`): the same preemption between the look and the
/// REGISTER leaves one of ours both times, and the nexus is admitted
/// behind the fence. Kept as a test so that closing it another way (or
/// losing the full-status path) shows here.
#[test]
fn read_keys_alone_cannot_see_a_preemption_between_the_look_and_the_register() {
    let mut r = Rig::new(RegistrationScope::Nexus, 1, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let p0 = r.paths[0];
    r.t.replaced.push((nexus(p0), 300));
    r.c.nexus_replaced(p0, 300);
    let look = r.c.poll_action().unwrap();
    answer(&mut r, look);
    let reg = r.c.poll_action().unwrap();
    assert_eq!(reg.command, PrCommand::Register { key: OURS });
    r.t.regs.retain(|x| x.1 != OURS);
    r.t.regs.push((900, THEIRS));
    answer(&mut r, reg);
    r.run();
    assert!(!r.c.is_fenced(), "READ KEYS counted one of ours twice");
    assert!(r.c.admitted(p0));
    assert_eq!(r.t.key_of(300), Some(OURS));
}

/// A registration that reached no path (every path down) has nothing of
/// ours on the target for another host to preempt: a path that comes up
/// afterwards registers at once, without a look that would find none of
/// ours and call it a fence. Once the key is on some nexus, later arrivals
/// look first again.
#[test]
fn a_registration_that_reached_no_path_registers_returning_paths_without_fencing() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    let (p0, p1) = (r.paths[0], r.paths[1]);
    for &p in &[p0, p1] {
        r.c.path_down(p);
    }
    assert_eq!(r.op(PrOp::Register(OURS)), Err(PrError::NoPath));
    assert_eq!(r.c.key(), Some(OURS));
    r.actions.clear();
    r.c.path_up(p0);
    r.run();
    assert!(!r.c.is_fenced(), "{:?}", r.actions);
    assert!(r.c.admitted(p0));
    assert_eq!(r.t.key_of(nexus(p0)), Some(OURS));
    assert_eq!(
        r.actions.first().map(|a| a.command),
        Some(PrCommand::Register { key: OURS }),
        "registered without a look first"
    );
    r.actions.clear();
    r.c.path_up(p1);
    r.run();
    assert!(r.c.admitted(p1));
    assert_eq!(
        r.actions.first().map(|a| a.command),
        Some(PrCommand::ReadKeys),
        "anchored: the next arrival looks first"
    );
}

// ----- rule 12: REGISTER AND MOVE -----

/// The other host's initiator port as a TransportID would name it: the
/// coordinator keeps the bytes without reading them.
const DEST_TID: &[u8] = b"\x45\x00\x00\x14iqn.x:other,i,0x1\0\0\0";
/// The other host's I_T nexus in the model.
const DEST_NEXUS: u32 = 900;

/// Start a REGISTER AND MOVE of ours to the other host's nexus, then run.
fn move_to(r: &mut Rig, key: u64) -> Result<PrReport, PrError> {
    r.events.clear();
    r.t.move_dest = Some(DEST_NEXUS);
    r.c.move_to(DEST_TID, 7, key).unwrap();
    r.run();
    let op = PrOp::RegisterAndMove {
        dest_key: key,
        relative_target_port: 7,
    };
    r.events
        .iter()
        .find_map(|e| match e {
            PrEvent::Finished { op: o, result } if *o == op => Some(*result),
            _ => None,
        })
        .unwrap_or_else(|| panic!("the move did not finish: {:?}", r.events))
}

fn moves(r: &Rig) -> Vec<PrAction> {
    r.actions
        .iter()
        .filter(|a| matches!(a.command, PrCommand::RegisterAndMove { .. }))
        .copied()
        .collect()
}

/// REGISTER AND MOVE goes out once, on the holder's nexus, with the type
/// held and the destination given; afterwards the other host holds the
/// reservation, registered with the key we gave, we hold none, our
/// registrations stay, and every registered path is admitted for writes
/// (the reservation's restrictions are the target's to apply now).
#[test]
fn rule12_register_and_move_hands_the_reservation_to_another_nexus() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder().unwrap();
    // Only the holder writes under our Write Exclusive.
    assert_eq!(r.paths.iter().filter(|&&p| r.c.admits_write(p)).count(), 1);
    r.actions.clear();
    r.t.move_dest = Some(DEST_NEXUS);
    r.c.move_to(DEST_TID, 7, THEIRS).unwrap();
    assert_eq!(r.c.move_destination(), Some((DEST_TID, 7)));
    assert!(!r.c.is_quiesced(), "a user operation holds no I/O");
    let a = r.c.poll_action().unwrap();
    assert_eq!(a.via, holder);
    assert_eq!(
        a.command,
        PrCommand::RegisterAndMove {
            key: OURS,
            dest_key: THEIRS,
            rtype: PrType::WriteExclusive,
            relative_target_port: 7,
        }
    );
    assert_eq!(
        r.c.move_destination(),
        Some((DEST_TID, 7)),
        "kept until answered"
    );
    answer(&mut r, a);
    r.run();
    let op = PrOp::RegisterAndMove {
        dest_key: THEIRS,
        relative_target_port: 7,
    };
    let rep = r
        .events
        .iter()
        .find_map(|e| match e {
            PrEvent::Finished { op: o, result } if *o == op => Some(*result),
            _ => None,
        })
        .unwrap()
        .unwrap();
    assert_eq!(rep.reservation, None);
    assert_eq!(rep.registered, r.mask(&[0, 1, 2]));
    assert_eq!(moves(&r).len(), 1);
    assert_eq!(r.c.move_destination(), None, "forgotten once answered");
    assert_eq!(r.c.reservation(), None);
    assert_eq!(r.c.holder(), None);
    assert_eq!(r.t.resv, Some((DEST_NEXUS, THEIRS, PrType::WriteExclusive)));
    assert_eq!(r.t.key_of(DEST_NEXUS), Some(THEIRS));
    for &p in &r.paths {
        assert_eq!(r.t.key_of(nexus(p)), Some(OURS), "UNREG 0: {p}");
        assert!(r.c.admitted(p) && r.c.admits_read(p) && r.c.admits_write(p));
        // The target applies the other host's Write Exclusive now.
        assert!(r.t.write_conflicts(nexus(p)));
        assert!(!r.t.read_conflicts(nexus(p)));
    }
    // Nothing of ours to move any more, nor to release.
    assert_eq!(r.c.move_to(DEST_TID, 7, THEIRS), Err(PrError::NotHolder));
    assert_eq!(r.op(PrOp::Release), Err(PrError::NotHolder));
    assert_eq!(r.t.resv.map(|x| x.0), Some(DEST_NEXUS));
}

/// Each registrants-only and single-holder type moves with its type; a
/// destination already registered keeps its key (SPC-4 5.13.8).
#[test]
fn rule12_every_single_holder_type_moves_and_a_registered_destination_keeps_its_key() {
    for t in [
        PrType::WriteExclusive,
        PrType::ExclusiveAccess,
        PrType::WriteExclusiveRegistrantsOnly,
        PrType::ExclusiveAccessRegistrantsOnly,
    ] {
        let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
        r.op(PrOp::Register(OURS)).unwrap();
        r.t.regs.push((DEST_NEXUS, 0xC3));
        r.op(PrOp::Reserve(t)).unwrap();
        r.actions.clear();
        let rep = move_to(&mut r, THEIRS).unwrap();
        assert_eq!(rep.reservation, None, "{t:?}");
        assert_eq!(r.t.resv, Some((DEST_NEXUS, 0xC3, t)), "{t:?}");
        let [m] = moves(&r)[..] else {
            panic!("{t:?}: {:?}", r.actions)
        };
        assert!(
            matches!(m.command, PrCommand::RegisterAndMove { rtype, .. } if rtype == t),
            "{t:?}"
        );
        // Registrants-only: our registered nexuses still write.
        let ro = matches!(
            t,
            PrType::WriteExclusiveRegistrantsOnly | PrType::ExclusiveAccessRegistrantsOnly
        );
        assert_eq!(r.t.write_conflicts(nexus(r.paths[0])), !ro, "{t:?}");
    }
}

/// What `move_to` refuses, each before anything is kept or sent.
#[test]
fn rule12_refusals_change_nothing() {
    let quiet = |r: &mut Rig| {
        assert_eq!(r.c.move_destination(), None);
        assert!(r.c.poll_action().is_none());
        assert!(r.c.poll_event().is_none());
    };
    let too_long = [0x45u8; TRANSPORT_ID_MAX + 1];
    let longest = [0x45u8; TRANSPORT_ID_MAX];
    // No key.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    assert_eq!(
        r.c.move_to(DEST_TID, 1, THEIRS),
        Err(PrError::NotRegistered)
    );
    quiet(&mut r);
    // No reservation.
    r.op(PrOp::Register(OURS)).unwrap();
    r.events.clear();
    assert_eq!(r.c.move_to(DEST_TID, 1, THEIRS), Err(PrError::NotHolder));
    quiet(&mut r);
    // All registrants: no holder to move (SPC-4: RESERVATION CONFLICT).
    r.op(PrOp::Reserve(PrType::WriteExclusiveAllRegistrants))
        .unwrap();
    r.events.clear();
    assert_eq!(r.c.move_to(DEST_TID, 1, THEIRS), Err(PrError::NotHolder));
    quiet(&mut r);
    r.op(PrOp::Release).unwrap();
    r.op(PrOp::Reserve(PrType::ExclusiveAccess)).unwrap();
    r.events.clear();
    // Bad input.
    for (tid, key, e) in [
        (&[][..], THEIRS, PrError::BadTransportId),
        (&too_long[..], THEIRS, PrError::BadTransportId),
        (DEST_TID, 0, PrError::ZeroKey),
    ] {
        assert_eq!(r.c.move_to(tid, 1, key), Err(e), "{}", tid.len());
        quiet(&mut r);
    }
    // The operation needs `move_to`'s TransportID.
    let op = PrOp::RegisterAndMove {
        dest_key: THEIRS,
        relative_target_port: 1,
    };
    assert_eq!(r.c.submit(op), Err(PrError::BadTransportId));
    quiet(&mut r);
    // Busy while another operation runs, and while a result is unpolled.
    r.c.submit(PrOp::ReadKeys).unwrap();
    assert_eq!(r.c.move_to(DEST_TID, 1, THEIRS), Err(PrError::Busy));
    assert_eq!(r.c.move_destination(), None);
    let a = r.c.poll_action().unwrap();
    answer(&mut r, a);
    assert_eq!(r.c.move_to(DEST_TID, 1, THEIRS), Err(PrError::Busy));
    r.run();
    // Busy while a move waits for a path.
    for &p in &r.paths {
        r.c.path_down(p);
    }
    assert_eq!(r.c.holder(), None);
    assert_eq!(r.c.move_to(DEST_TID, 1, THEIRS), Err(PrError::Busy));
    for &p in &r.paths {
        r.c.path_up(p);
    }
    r.run();
    assert!(r.c.holder().is_some(), "moved back to a live nexus");
    // The longest TransportID is taken.
    r.t.move_dest = Some(DEST_NEXUS);
    r.c.move_to(&longest, 1, THEIRS).unwrap();
    assert_eq!(r.c.move_destination(), Some((&longest[..], 1)));
    r.run();
    assert_eq!(r.t.resv.map(|x| x.0), Some(DEST_NEXUS));
    // Fenced.
    let mut r = Rig::new(RegistrationScope::Nexus, 1, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    r.t.regs.clear();
    r.t.resv = None;
    r.c.handle_notices(r.paths[0], Notices::REGISTRATIONS_PREEMPTED);
    r.run();
    assert!(r.c.is_fenced());
    assert_eq!(r.c.move_to(DEST_TID, 1, THEIRS), Err(PrError::Fenced));
    quiet(&mut r);
    // Host-scoped registrations (NVMe) name no nexus to move from.
    let mut r = Rig::new(RegistrationScope::Host, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    r.events.clear();
    assert_eq!(r.c.reservation(), Some(PrType::WriteExclusive));
    assert_eq!(r.c.move_to(DEST_TID, 1, THEIRS), Err(PrError::NotHolder));
    quiet(&mut r);
}

/// A conflict (another host took our registration unseen) and a refusal
/// (a target without REGISTER AND MOVE, a TransportID it does not know)
/// fail the move, not retried, and leave our view as it was.
#[test]
fn rule12_conflict_and_refusal_fail_the_move_without_a_retry() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder();
    r.actions.clear();
    // The target knows no such destination: INVALID FIELD.
    r.t.move_dest = None;
    r.c.move_to(DEST_TID, 7, THEIRS).unwrap();
    r.run();
    assert!(r.events.contains(&PrEvent::Finished {
        op: PrOp::RegisterAndMove {
            dest_key: THEIRS,
            relative_target_port: 7
        },
        result: Err(PrError::Refused)
    }));
    assert_eq!(moves(&r).len(), 1);
    assert_eq!(r.c.move_destination(), None);
    assert_eq!(r.c.reservation(), Some(PrType::WriteExclusive));
    assert_eq!(r.c.holder(), holder);
    // Our holder nexus lost its registration (preempted, no notice yet).
    r.t.regs.retain(|x| x.0 != nexus(holder.unwrap()));
    r.actions.clear();
    assert_eq!(move_to(&mut r, THEIRS), Err(PrError::Conflict));
    assert_eq!(moves(&r).len(), 1, "a conflict is not retried elsewhere");
    assert_eq!(r.c.move_destination(), None);
}

/// The holder's path fails under the command: no other nexus may send it
/// (it would be RESERVATION CONFLICT there), so the move fails with
/// NoPath, and the holder's loss moves the reservation to a live nexus of
/// ours (rule 6), where a second `move_to` can send it.
#[test]
fn rule12_a_failed_holder_path_ends_the_move_with_no_path() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::ExclusiveAccess)).unwrap();
    let holder = r.c.holder().unwrap();
    r.actions.clear();
    r.events.clear();
    r.t.move_dest = Some(DEST_NEXUS);
    r.c.move_to(DEST_TID, 7, THEIRS).unwrap();
    let a = r.c.poll_action().unwrap();
    assert_eq!(a.via, holder);
    r.actions.push(a);
    assert!(r.c.reply(a.via, PrReply::PathFailed));
    // As the device does: the failed path is down for the coordinator.
    r.t.down.push(nexus(holder));
    r.c.path_down(holder);
    r.run();
    assert_eq!(moves(&r).len(), 1, "not retried on another path");
    assert!(
        r.events.contains(&PrEvent::Finished {
            op: PrOp::RegisterAndMove {
                dest_key: THEIRS,
                relative_target_port: 7
            },
            result: Err(PrError::NoPath)
        }),
        "{:?}",
        r.events
    );
    let new = r.c.holder().unwrap();
    assert_ne!(new, holder);
    assert!(r.events.contains(&PrEvent::Moved { holder: new }));
    assert_eq!(r.t.resv, Some((nexus(new), OURS, PrType::ExclusiveAccess)));
    r.actions.clear();
    move_to(&mut r, THEIRS).unwrap();
    assert_eq!(
        moves(&r)[..].iter().map(|a| a.via).collect::<Vec<_>>(),
        [new]
    );
    assert_eq!(r.t.resv.map(|x| x.0), Some(DEST_NEXUS));
}

/// A holder whose nexus was replaced lost the reservation (rule 6): the
/// move is refused busy while the reservation goes to a live nexus, and
/// goes from there afterwards.
#[test]
fn rule12_a_replaced_holder_nexus_is_moved_first() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let holder = r.c.holder().unwrap();
    r.c.nexus_replaced(holder, 9);
    assert_eq!(r.c.move_to(DEST_TID, 7, THEIRS), Err(PrError::Busy));
    r.run();
    assert!(r.c.holder().is_some());
    assert_eq!(move_to(&mut r, THEIRS).map(|x| x.reservation), Ok(None));
}

/// A REGISTER whose answer was lost with its path may have landed: the key
/// counts as possibly registered from the moment it goes out. If another
/// host then preempts it, the path that comes back looks first, finds none
/// of ours, and the device is fenced, with nothing registered behind the
/// fence. (Found by the simulator's liveness sweep: registering at once,
/// as for a key that never went out, put us back behind the fence.)
#[test]
fn a_register_whose_answer_was_lost_still_looks_before_registering_again() {
    let mut r = Rig::new(RegistrationScope::Nexus, 1, &[]);
    let p0 = r.paths[0];
    r.c.submit(PrOp::Register(OURS)).unwrap();
    let reg = r.c.poll_action().unwrap();
    assert_eq!(reg.command, PrCommand::Register { key: OURS });
    // It lands; the answer is lost with the path.
    r.t.exec(nexus(p0), reg.command, OURS);
    assert!(r.c.reply(p0, PrReply::PathFailed));
    r.c.path_down(p0);
    r.run();
    assert_eq!(r.c.key(), Some(OURS));
    // Another host preempts our key meanwhile.
    r.t.regs.retain(|x| x.1 != OURS);
    r.t.regs.push((900, THEIRS));
    r.actions.clear();
    r.c.path_up(p0);
    r.run();
    assert_eq!(
        r.actions.first().map(|a| a.command),
        Some(PrCommand::ReadKeys),
        "looks first: {:?}",
        r.actions
    );
    assert!(r.c.is_fenced());
    assert!(!r.c.admitted(p0));
    assert_eq!(r.t.key_of(nexus(p0)), None, "nothing behind the fence");
}

/// A RESERVE whose answer was lost with its path may have taken the
/// reservation; sent again on another path it meets RESERVATION CONFLICT
/// from our own reservation. The coordinator reads the reservation: ours,
/// of the type asked for, is success, held through the lost path's nexus
/// (which the device then moves off, that path being down). (Found by the
/// simulator's safety sweep: the reserve failed, and every write through
/// another nexus failed upward with a conflict our own reservation caused.)
#[test]
fn a_reserve_retried_past_a_lost_answer_finds_its_own_reservation() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.c.submit(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let first = r.c.poll_action().unwrap();
    assert!(matches!(first.command, PrCommand::Reserve { .. }));
    // It lands; the answer is lost with the path.
    assert_eq!(
        r.t.exec(nexus(first.via), first.command, OURS),
        PrReply::Done
    );
    assert!(r.c.reply(first.via, PrReply::PathFailed));
    r.c.path_down(first.via);
    r.t.down.push(nexus(first.via));
    r.events.clear();
    r.run();
    let result = r.events.iter().find_map(|e| match e {
        PrEvent::Finished {
            op: PrOp::Reserve(_),
            result,
        } => Some(*result),
        _ => None,
    });
    let report = result.expect("finished").expect("ours, not a conflict");
    assert_eq!(
        report.reservation.map(|(_, t)| t),
        Some(PrType::WriteExclusive)
    );
    assert!(
        r.actions
            .iter()
            .any(|a| a.command == PrCommand::ReadReservation),
        "{:?}",
        r.actions
    );
    // The reservation now sits on a live nexus of ours.
    let (holder, _, t) = r.t.resv.expect("held");
    assert_eq!(t, PrType::WriteExclusive);
    assert_ne!(holder, nexus(first.via), "moved off the dead path");
    assert_eq!(r.c.reservation(), Some(PrType::WriteExclusive));
    assert!(r.c.holder().is_some_and(|h| h != first.via));
}

/// A plain registration (a path coming up while the key is registered
/// nowhere yet) answered after the key changed is the old key's: the path
/// is not admitted on it, and registers the new key.
#[test]
fn a_plain_registration_answered_for_an_old_key_does_not_admit() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    let (p0, p1) = (r.paths[0], r.paths[1]);
    r.c.path_down(p0);
    r.c.path_down(p1);
    assert_eq!(r.op(PrOp::Register(OURS)), Err(PrError::NoPath));
    r.c.path_up(p0);
    let old = r.c.poll_action().unwrap();
    assert_eq!(
        (old.via, old.command),
        (p0, PrCommand::Register { key: OURS })
    );
    // The key changes while that REGISTER is out.
    r.c.submit(PrOp::Register(0xC3)).unwrap();
    let early: Vec<PrAction> = std::iter::from_fn(|| r.c.poll_action()).collect();
    answer(&mut r, old);
    assert_ne!(r.c.state(p0), Some(RegState::Registered));
    assert!(!r.c.admitted(p0), "not on the old key's registration");
    for a in early {
        answer(&mut r, a);
    }
    r.run();
    assert!(r.c.admitted(p0));
    assert_eq!(r.t.key_of(nexus(p0)), Some(0xC3));
}

/// A RESERVE that meets RESERVATION CONFLICT on its first attempt, or
/// after an attempt that never reached the target while another host took
/// the reservation, fails with Conflict. Only a retry past a lost answer
/// reads the reservation, and only ours of the asked type is success.
#[test]
fn a_reserve_conflict_is_ours_only_when_the_reservation_says_so() {
    let they_reserve = |r: &mut Rig| {
        r.t.regs.push((900, THEIRS));
        r.t.resv = Some((900, THEIRS, PrType::WriteExclusive));
    };
    // First attempt: a plain conflict, nothing read.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    they_reserve(&mut r);
    r.actions.clear();
    assert_eq!(
        r.op(PrOp::Reserve(PrType::WriteExclusive)),
        Err(PrError::Conflict)
    );
    assert_eq!(r.commands(|c| *c == PrCommand::ReadReservation), 0);
    // A lost first attempt that never landed; the other host reserved
    // meanwhile (the same type): the retry's conflict is theirs.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.c.submit(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let first = r.c.poll_action().unwrap();
    assert!(r.c.reply(first.via, PrReply::PathFailed));
    r.c.path_down(first.via);
    r.t.down.push(nexus(first.via));
    they_reserve(&mut r);
    r.events.clear();
    r.run();
    let result = r.events.iter().find_map(|e| match e {
        PrEvent::Finished {
            op: PrOp::Reserve(_),
            result,
        } => Some(*result),
        _ => None,
    });
    assert_eq!(result, Some(Err(PrError::Conflict)), "{:?}", r.actions);
    assert!(r
        .actions
        .iter()
        .any(|a| a.command == PrCommand::ReadReservation));
    assert_eq!(r.c.reservation(), None);
    assert_eq!(r.t.resv, Some((900, THEIRS, PrType::WriteExclusive)));
}

/// Only RESERVE gets that second look: a PREEMPT retried past a lost
/// answer that meets a conflict fails with it.
#[test]
fn a_preempt_conflict_after_a_lost_answer_is_a_conflict() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.c.submit(PrOp::Preempt {
        victim: THEIRS,
        rtype: PrType::WriteExclusive,
        abort: false,
    })
    .unwrap();
    let first = r.c.poll_action().unwrap();
    assert!(matches!(first.command, PrCommand::Preempt { .. }));
    assert!(r.c.reply(first.via, PrReply::PathFailed));
    let second = r.c.poll_action().unwrap();
    assert!(matches!(second.command, PrCommand::Preempt { .. }));
    assert_ne!(second.via, first.via);
    r.events.clear();
    assert!(r.c.reply(second.via, PrReply::Conflict));
    r.run();
    assert_eq!(r.commands(|c| *c == PrCommand::ReadReservation), 0);
    let result = r.events.iter().find_map(|e| match e {
        PrEvent::Finished { result, .. } => Some(*result),
        _ => None,
    });
    assert_eq!(result, Some(Err(PrError::Conflict)));
}

/// A key check (after a conflict or a notice) also reads the reservation:
/// one of ours the coordinator did not know of (a RESERVE whose answer was
/// lost) is adopted, and a single-holder one is moved to a live nexus of
/// ours, since we cannot name the nexus holding it. One we know of stays
/// where it is; another host's, or an all-registrants one of ours, is not
/// moved. (Found by the simulator's 100,000-seed sweep.)
#[test]
fn a_key_check_adopts_a_reservation_of_ours_it_did_not_know_of() {
    let preempts = |r: &Rig| r.commands(|c| matches!(c, PrCommand::Preempt { .. }));
    // Unknown, single holder: adopted and moved.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let (p0, p1) = (r.paths[0], r.paths[1]);
    r.t.resv = Some((nexus(p0), OURS, PrType::ExclusiveAccess));
    assert_eq!(r.c.reservation(), None);
    r.actions.clear();
    r.c.handle_conflict(p1);
    r.run();
    assert!(!r.c.is_fenced());
    assert_eq!(r.c.reservation(), Some(PrType::ExclusiveAccess));
    assert_eq!(preempts(&r), 1, "{:?}", r.actions);
    let holder = r.c.holder().expect("a holder we can name now");
    assert_eq!(
        r.t.resv.map(|x| (x.0, x.2)),
        Some((nexus(holder), PrType::ExclusiveAccess))
    );
    // Known: nothing moves.
    r.actions.clear();
    r.c.handle_conflict(p0);
    r.run();
    assert_eq!(preempts(&r), 0, "{:?}", r.actions);
    assert_eq!(r.c.holder(), Some(holder));
    // All registrants: adopted, no move (every registrant holds it).
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.resv = Some((
        nexus(r.paths[0]),
        OURS,
        PrType::WriteExclusiveAllRegistrants,
    ));
    r.actions.clear();
    r.c.handle_conflict(r.paths[1]);
    r.run();
    assert_eq!(
        r.c.reservation(),
        Some(PrType::WriteExclusiveAllRegistrants)
    );
    assert_eq!(preempts(&r), 0);
    // Another host's: not ours to adopt.
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.regs.push((900, THEIRS));
    r.t.resv = Some((900, THEIRS, PrType::ExclusiveAccess));
    r.c.handle_conflict(r.paths[1]);
    r.run();
    assert_eq!(r.c.reservation(), None);
    assert!(!r.c.is_fenced());
    // Host-scoped registrations (NVMe): adopted, nothing to move.
    let mut r = Rig::new(RegistrationScope::Host, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.t.resv = Some((nexus(r.paths[0]), OURS, PrType::ExclusiveAccess));
    r.actions.clear();
    r.c.handle_conflict(r.paths[1]);
    r.run();
    assert_eq!(r.c.reservation(), Some(PrType::ExclusiveAccess));
    assert_eq!(preempts(&r), 0);
}

/// The nexus a lost RESERVE answer went out on is the one holding the
/// reservation: when the first attempt did not go out on the lowest path
/// (that one could not carry I/O), it is still that attempt's path the
/// coordinator names, and moves the reservation off once it is down, so
/// the coordinator's holder and the target's agree.
#[test]
fn the_lost_reserve_attempt_names_the_holder_whatever_its_slot() {
    let mut r = Rig::new(RegistrationScope::Nexus, 3, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let (p0, p1, p2) = (r.paths[0], r.paths[1], r.paths[2]);
    // p0 cannot carry I/O: reservation commands go to p1 and p2 first.
    r.c.set_usable(r.mask(&[1, 2]));
    r.c.submit(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    let first = r.c.poll_action().unwrap();
    assert_ne!(first.via, p0, "{first:?}");
    assert_eq!(
        r.t.exec(nexus(first.via), first.command, OURS),
        PrReply::Done
    );
    assert!(r.c.reply(first.via, PrReply::PathFailed));
    r.c.path_down(first.via);
    r.t.down.push(nexus(first.via));
    r.run();
    let holder = r.c.holder().expect("a holder");
    assert_eq!(r.c.reservation(), Some(PrType::WriteExclusive));
    assert_eq!(
        r.t.resv.map(|x| x.0),
        Some(nexus(holder)),
        "the coordinator's holder is the target's: {:?}",
        r.actions
    );
    assert!(holder == p1 || holder == p2);
    assert_ne!(holder, first.via);
}

/// POWER ON, RESET is a question about our registrations (a logical unit
/// that lost power without APTPL forgot them all): the keys are checked,
/// I/O held meanwhile. Still there: nothing changes. Gone: fenced, and
/// nothing registers again (the look cannot tell a power loss from
/// another host's CLEAR).
#[test]
fn a_power_on_unit_attention_checks_the_keys() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.op(PrOp::Reserve(PrType::WriteExclusive)).unwrap();
    r.actions.clear();
    // A reset that kept everything (APTPL, or an I_T nexus loss).
    r.c.handle_notices(r.paths[1], Notices::RESET_OCCURRED);
    assert!(r.c.is_quiesced(), "I/O held until the keys are checked");
    r.run();
    assert_eq!(r.commands(|c| *c == PrCommand::ReadKeys), 1);
    assert!(!r.c.is_quiesced());
    assert!(!r.c.is_fenced());
    // A power loss without APTPL: the target forgot everything.
    r.t.regs.clear();
    r.t.resv = None;
    r.actions.clear();
    r.c.handle_notices(r.paths[0], Notices::RESET_OCCURRED);
    r.run();
    assert!(r.c.is_fenced());
    assert!(r.events.contains(&PrEvent::Fenced));
    assert_eq!(
        r.commands(|c| matches!(c, PrCommand::Register { .. })),
        0,
        "nothing registered again"
    );
    assert!(!r.c.admitted(r.paths[0]) && !r.c.admitted(r.paths[1]));
}

/// A check of the keys with no path to go through is owed, not dropped:
/// I/O stays held and the check goes out once a path is up (the power-on
/// unit attention often arrives just before every path drops).
#[test]
fn a_check_with_no_path_up_is_owed_until_one_returns() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    r.actions.clear();
    for &p in &r.paths.clone() {
        r.c.path_down(p);
    }
    r.c.handle_notices(r.paths[0], Notices::RESET_OCCURRED);
    assert_eq!(r.c.poll_action(), None, "nothing to send it on");
    assert!(r.c.is_quiesced(), "owed: I/O stays held");
    assert_eq!(r.c.poll_action(), None, "still owed, not spinning");
    r.c.path_up(r.paths[1]);
    r.run();
    assert_eq!(r.commands(|c| *c == PrCommand::ReadKeys), 1);
    assert!(!r.c.is_quiesced());
    assert!(!r.c.is_fenced());
}

/// A path whose own look was waiting while the running check of the keys
/// went out through it, and which then went down: the look is owed again
/// when it returns (it used to come back "Registering" with nothing to
/// send, and never carry I/O again).
#[test]
fn a_look_waiting_behind_a_check_survives_an_outage() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    let (p, q) = (r.paths[0], r.paths[1]);
    // `p` misses a registration while down: stale, it must look (our key
    // is anchored) before it carries I/O again.
    r.c.path_down(p);
    r.t.down.push(nexus(p));
    r.op(PrOp::Unregister).unwrap();
    r.op(PrOp::Register(OURS)).unwrap();
    assert_eq!(r.c.state(p), Some(RegState::Stale));
    // Every path down; a power-on unit attention: the check is owed.
    r.c.path_down(q);
    r.c.handle_notices(q, Notices::RESET_OCCURRED);
    r.t.down.clear();
    r.c.path_up(p);
    assert_eq!(r.c.state(p), Some(RegState::Registering));
    // The owed check goes out through `p` first; its look waits behind.
    let check = r.c.poll_action().unwrap();
    assert_eq!((check.via, check.command), (p, PrCommand::ReadKeys));
    r.c.path_down(p);
    assert!(r.c.reply(p, PrReply::PathFailed));
    assert_ne!(
        r.c.state(p),
        Some(RegState::Registering),
        "the look is owed again"
    );
    r.c.path_up(p);
    r.c.path_up(q);
    r.run();
    assert_eq!(r.c.state(p), Some(RegState::Registered));
    assert!(r.c.admitted(p));
    assert!(!r.c.is_quiesced());
}

/// A check owed while no path was up is dropped, not sent, if the key is
/// gone by the time a path returns (the user unregistered first): there
/// is nothing of ours left to check.
#[test]
fn an_owed_check_is_dropped_once_the_key_is_gone() {
    let mut r = Rig::new(RegistrationScope::Nexus, 2, &[]);
    r.op(PrOp::Register(OURS)).unwrap();
    for &p in &r.paths.clone() {
        r.c.path_down(p);
    }
    r.c.handle_notices(r.paths[0], Notices::RESET_OCCURRED);
    assert_eq!(r.c.poll_action(), None);
    r.c.path_up(r.paths[0]);
    r.c.path_up(r.paths[1]);
    // The user's unregistration goes before the owed check.
    r.actions.clear();
    r.op(PrOp::Unregister).unwrap();
    assert_eq!(r.c.key(), None);
    r.run();
    let after: Vec<_> = r.actions.iter().map(|a| a.command).collect();
    assert!(
        !after.contains(&PrCommand::ReadKeys),
        "no check of keys we no longer have: {after:?}"
    );
    assert!(!r.c.is_quiesced());
}
