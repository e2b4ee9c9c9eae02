//! The `mpathpersist` tool against a real tgt target, one invocation per
//! step as fence_mpath runs it (each invocation logs in its own sessions),
//! with the target's registrations checked after each step by READ KEYS
//! and READ RESERVATION from a session of its own.
//!
//! tgt names the I_T nexus by session, so every invocation's nexuses are
//! new ones: these tests are where registrations left behind by earlier
//! runs would show. tgt has neither SPEC_I_PT nor REGISTER AND MOVE: the
//! tool's `-X` and `-M` are run on the simulated logical unit too
//! (`persist::run_on` over `SimFabric`, whose I_T nexuses stay the same
//! from run to run, as LIO's do), where both work.

use mpath_core::reservation::{PrCommand, PrType};
use mpath_iscsi::fabric::Fabric;
use mpath_iscsi::nexus::isid;
use mpath_iscsi::persist::{isid_qualifier, run, run_on, ExitStatus};
use mpath_iscsi::pr_transport::{self, PrAnswer};
use mpath_iscsi::{IscsiNexus, NexusConfig, TgtTarget};
use mpath_scsi::PrOptions;
use mpath_sim::sim_fabric::SimFabric;

const KA: u64 = 0x6d70_6174_6800_00a1;
const KB: u64 = 0x6d70_6174_6800_00b2;
const HOST_A: &str = "iqn.2024-01.org.mpath:persist-a";
const HOST_B: &str = "iqn.2024-01.org.mpath:persist-b";
const WE_RO: PrType = PrType::WriteExclusiveRegistrantsOnly;

/// A tgt target with portals 127.0.0.1-3; the tools use .2 and .3, the
/// observer .1.
struct Lab {
    // Before the target: the session logs out before tgtd stops.
    observer: IscsiNexus,
    t: TgtTarget,
}

impl Lab {
    fn start() -> Self {
        let t = TgtTarget::start(3).unwrap_or_else(|e| {
            panic!("cannot start tgtd: {e} (needs tgt and libiscsi-dev: apt-get install -y tgt libiscsi-dev)")
        });
        let observer = IscsiNexus::connect(NexusConfig::new(
            &t.portal("127.0.0.1"),
            t.iqn(),
            "iqn.2024-01.org.mpath:observer",
            1,
            1,
        ))
        .expect("observer login");
        Lab { observer, t }
    }

    /// One invocation as `initiator` through portals .2 and .3.
    fn tool(&self, initiator: &str, args: &str) -> (ExitStatus, String, String) {
        let mut argv: Vec<String> = vec!["mpathpersist".into()];
        for host in ["127.0.0.2", "127.0.0.3"] {
            argv.push("--portal".into());
            argv.push(self.t.portal(host));
        }
        argv.extend(
            [
                "--target",
                self.t.iqn(),
                "--lun",
                "1",
                "--initiator",
                initiator,
            ]
            .map(String::from),
        );
        argv.extend(args.split_whitespace().map(String::from));
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let s = run(argv, &mut out, &mut err);
        (
            s,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    }

    /// The same, which must succeed.
    fn ok(&self, initiator: &str, args: &str) -> String {
        let (s, out, err) = self.tool(initiator, args);
        assert_eq!(
            s,
            ExitStatus::Success,
            "{args}\nstdout:\n{out}\nstderr:\n{err}"
        );
        out
    }

    fn pr(&mut self, cmd: PrCommand) -> PrAnswer {
        let n = &mut self.observer;
        pr_transport::execute(&PrOptions::DEFAULT, cmd, |c| n.send(c)).answer
    }

    /// Every registered key, sorted.
    fn keys(&mut self) -> Vec<u64> {
        match self.pr(PrCommand::ReadKeys) {
            PrAnswer::Keys(mut k) => {
                k.sort_unstable();
                k
            }
            other => panic!("READ KEYS: {other:?}"),
        }
    }

    fn reservation(&mut self) -> Option<(u64, PrType)> {
        match self.pr(PrCommand::ReadReservation) {
            PrAnswer::Reservation(r) => r,
            other => panic!("READ RESERVATION: {other:?}"),
        }
    }
}

#[test]
fn fence_mpath_style_runs_leave_exactly_the_expected_registrations() {
    let mut lab = Lab::start();
    let register_a = format!("-o --register --param-sark={KA:x}");
    let reserve_a = format!("-o --reserve --prout-type=5 --param-rk={KA:x}");
    let release_a = format!("-o --release --prout-type=5 --param-rk={KA:x}");

    // Register: one registration per portal, and again (fence_mpath's
    // "on" registers every time) still one per portal.
    lab.ok(HOST_A, &register_a);
    assert_eq!(lab.keys(), [KA, KA]);
    // The second run's nexuses are new to tgt (it names the I_T nexus by
    // session, not by initiator name and ISID): the first run's two
    // registrations are found and removed.
    let (s, _, err) = lab.tool(HOST_A, &format!("{register_a} -v 1"));
    assert_eq!(s, ExitStatus::Success, "{err}");
    assert!(
        err.contains("2 registration(s) on I_T nexuses this run did not log in"),
        "{err}"
    );
    assert_eq!(
        lab.keys(),
        [KA, KA],
        "a second run left registrations behind"
    );
    let out = lab.ok(HOST_A, "-i -k");
    assert!(
        out.contains("2 registered reservation keys follow:\n    0x6d706174680000a1\n    0x6d706174680000a1\n"),
        "{out}"
    );

    // Reserve from a fresh run, then again (held already: success).
    lab.ok(HOST_A, &reserve_a);
    assert_eq!(lab.reservation(), Some((KA, WE_RO)));
    assert_eq!(lab.keys(), [KA, KA]);
    let out = lab.ok(HOST_A, "-i -r");
    assert!(
        out.contains("   Key = 0x6d706174680000a1\n  scope = LU_SCOPE, type = Write Exclusive, registrants only\n"),
        "{out}"
    );
    lab.ok(HOST_A, &reserve_a);
    assert_eq!(lab.reservation(), Some((KA, WE_RO)));
    assert_eq!(lab.keys(), [KA, KA]);

    // Release from a fresh run: none of its nexuses holds the reservation
    // (an earlier session's does), and it is really released.
    lab.ok(HOST_A, &release_a);
    assert_eq!(lab.reservation(), None);
    assert_eq!(lab.keys(), [KA, KA]);
    let out = lab.ok(HOST_A, "-i -r");
    assert!(out.contains("there is NO reservation held"), "{out}");
    // Nothing to release: an error (never success for a no-op), nothing
    // sent, nothing changed.
    let (s, _, err) = lab.tool(HOST_A, &release_a);
    assert_eq!(s, ExitStatus::Other, "{err}");
    assert!(err.contains("nothing to release"), "{err}");
    assert_eq!(lab.reservation(), None);
    assert_eq!(lab.keys(), [KA, KA]);

    // Another host reserves; our release must fail, and leave it alone.
    lab.ok(HOST_B, &format!("-o -G -S {KB:x}"));
    lab.ok(HOST_B, &format!("-o -R -K {KB:x} -T 5"));
    assert_eq!(lab.keys(), [KA, KA, KB, KB]);
    let (s, out, err) = lab.tool(HOST_A, &release_a);
    assert_eq!(s, ExitStatus::ReservationConflict, "{out}{err}");
    assert!(err.contains("held by key 0x6d706174680000b2"), "{err}");
    assert!(out.contains("PR out: command failed"), "{out}");
    assert_eq!(lab.reservation(), Some((KB, WE_RO)));
    assert_eq!(lab.keys(), [KA, KA, KB, KB]);

    // Unregister (fresh run): every registration of our key goes.
    lab.ok(
        HOST_A,
        &format!("-o --register --param-rk={KA:x} --param-sark=0"),
    );
    assert_eq!(lab.keys(), [KB, KB]);
    // With the key gone, a reserve does not register it again.
    let (s, _, err) = lab.tool(HOST_A, &reserve_a);
    assert_eq!(s, ExitStatus::ReservationConflict, "{err}");
    assert!(err.contains("not registered"), "{err}");
    assert_eq!(lab.keys(), [KB, KB]);

    // The other host clears everything.
    lab.ok(HOST_B, &format!("-oCK {KB:x}"));
    assert_eq!(lab.keys(), Vec::<u64>::new());
    assert_eq!(lab.reservation(), None);
}

#[test]
fn a_fenced_host_stays_out_and_an_unregister_releases_its_reservation() {
    let mut lab = Lab::start();
    lab.ok(HOST_A, &format!("-o -G -S {KA:x}"));
    lab.ok(HOST_A, &format!("-o -R -K {KA:x} -T 5"));
    lab.ok(HOST_B, &format!("-o -G -S {KB:x}"));
    // fence_mpath "off" for host A, run on host B, uses PREEMPT AND
    // ABORT, which tgt does not implement (ILLEGAL REQUEST: exit 5,
    // nothing changed); PREEMPT does the fencing part.
    let (s, _, err) = lab.tool(
        HOST_B,
        &format!("-o --preempt-abort --prout-type=5 --param-rk={KB:x} --param-sark={KA:x}"),
    );
    assert_eq!(s, ExitStatus::IllegalRequest, "{err}");
    assert_eq!(lab.keys(), [KA, KA, KB, KB]);
    lab.ok(
        HOST_B,
        &format!("-o --preempt --prout-type=5 --param-rk={KB:x} --param-sark={KA:x}"),
    );
    assert_eq!(lab.keys(), [KB, KB]);
    assert_eq!(lab.reservation(), Some((KB, WE_RO)));
    let (s, _, err) = lab.tool(HOST_A, &format!("-o -R -K {KA:x} -T 5"));
    assert_eq!(s, ExitStatus::ReservationConflict, "{err}");
    assert_eq!(lab.keys(), [KB, KB], "the fenced key came back");

    // Unregistering the holder's key from a fresh run (register-ignore,
    // as multipath-tools' man page shows) releases its reservation too.
    lab.ok(HOST_B, &format!("--out --register-ignore -K {KB:x} -S 0"));
    assert_eq!(lab.keys(), Vec::<u64>::new());
    assert_eq!(lab.reservation(), None);
}

#[test]
fn unsupported_target_features_and_missing_portals_have_their_exit_status() {
    let mut t = TgtTarget::start(3).unwrap_or_else(|e| panic!("cannot start tgtd: {e}"));
    t.remove_portal("127.0.0.3").unwrap();
    let lab_portal = |host: &str| t.portal(host);
    let tool = |args: String| {
        let argv = format!(
            "mpathpersist --portal {} --portal {} --target {} --initiator {HOST_A} {args}",
            lab_portal("127.0.0.2"),
            lab_portal("127.0.0.3"),
            t.iqn()
        );
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let s = run(argv.split_whitespace(), &mut out, &mut err);
        (
            s,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    // One portal down: the other registers, and says which did not.
    let (s, _, err) = tool(format!("-o -G -S {KA:x} -v 1"));
    assert_eq!(s, ExitStatus::Success, "{err}");
    assert!(err.contains("login failed"), "{err}");
    let (s, out, _) = tool(String::from("-i -k"));
    assert_eq!(s, ExitStatus::Success);
    assert!(
        out.contains("1 registered reservation key follows:"),
        "{out}"
    );
    // tgt has no READ FULL STATUS, APTPL or ALL_TG_PT: ILLEGAL REQUEST (5).
    let (s, _, err) = tool(String::from("-i -s"));
    assert_eq!(s, ExitStatus::IllegalRequest, "{err}");
    let (s, _, err) = tool(format!("-o -G -S {KA:x} -Z"));
    assert_eq!(s, ExitStatus::IllegalRequest, "{err}");
    assert!(err.contains("APTPL"), "{err}");
    let (s, out, _) = tool(String::from("-i -c"));
    assert_eq!(s, ExitStatus::Success);
    assert!(
        out.contains("Persist Through Power Loss Capable(PTPL_C): 0"),
        "{out}"
    );
    // No portal at all: no path available (13).
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let argv = format!(
        "mpathpersist -i -k --portal 127.0.0.1:1 --target {} --initiator {HOST_A}",
        t.iqn()
    );
    let s = run(argv.split_whitespace(), &mut out, &mut err);
    assert_eq!(s, ExitStatus::NoPath, "{}", String::from_utf8_lossy(&err));
}

/// tgt has no SPEC_I_PT (REPORT CAPABILITIES SIP_C 0) and no REGISTER AND
/// MOVE (ILLEGAL REQUEST): `-X` is refused with exit 5 before anything is
/// sent, `-M` with exit 5 from the target's answer; neither changes a
/// registration or the reservation.
#[test]
fn spec_i_pt_and_register_and_move_are_refused_by_tgt_with_nothing_changed() {
    let mut lab = Lab::start();
    let b = format!("{HOST_B},i,0x{:012x}", isid(isid_qualifier(HOST_B, 0)));
    let (s, _, err) = lab.tool(HOST_A, &format!("-o -G -S {KA:x} -X {b}"));
    assert_eq!(s, ExitStatus::IllegalRequest, "{err}");
    assert!(
        err.contains("SIP_C") && err.contains("nothing sent"),
        "{err}"
    );
    assert_eq!(lab.keys(), Vec::<u64>::new());
    lab.ok(HOST_A, &format!("-o -G -S {KA:x}"));
    lab.ok(HOST_A, &format!("-o -R -K {KA:x} -T 5"));
    let (s, out, err) = lab.tool(
        HOST_A,
        &format!("-o -M -K {KA:x} -S {KB:x} -T 5 -X {b} -v 1"),
    );
    assert_eq!(s, ExitStatus::IllegalRequest, "{out}{err}");
    assert!(err.contains("refused by the target"), "{err}");
    assert!(out.contains("PR out: command failed"), "{out}");
    assert_eq!(lab.reservation(), Some((KA, WE_RO)));
    assert_eq!(lab.keys(), [KA, KA]);
    lab.ok(HOST_A, &format!("-oCK {KA:x}"));
}

// ----- the simulated logical unit: SPEC_I_PT and REGISTER AND MOVE -----

/// One invocation on `f`'s nexuses (the device options are required by
/// the command line; the fabric given is used).
fn sim(f: &mut SimFabric, args: &str) -> (ExitStatus, String, String) {
    let line = format!(
        "mpathpersist --portal sim:1 --target sim --initiator {} {args}",
        mpath_sim::sim_fabric::HOST_A
    );
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let s = run_on(line.split_whitespace(), f, &mut out, &mut err);
    (
        s,
        String::from_utf8(out).unwrap(),
        String::from_utf8(err).unwrap(),
    )
}

fn sim_ok(f: &mut SimFabric, args: &str) {
    let (s, out, err) = sim(f, args);
    assert_eq!(s, ExitStatus::Success, "{args}\n{out}{err}");
}

fn sim_keys(f: &mut SimFabric) -> Vec<u64> {
    match f.other_host_pr(PrCommand::ReadKeys).answer {
        PrAnswer::Keys(mut k) => {
            k.sort_unstable();
            k
        }
        other => panic!("READ KEYS: {other:?}"),
    }
}

fn sim_reservation(f: &mut SimFabric) -> Option<(u64, PrType)> {
    match f.other_host_pr(PrCommand::ReadReservation).answer {
        PrAnswer::Reservation(r) => r,
        other => panic!("READ RESERVATION: {other:?}"),
    }
}

/// The other host's initiator port as a `-X` word.
fn other_tid(f: &SimFabric) -> String {
    let (name, isid) = f.other_initiator_port().unwrap();
    format!("{name},i,0x{isid:012x}")
}

/// `-o -G -S KEY -X TID`: SPEC_I_PT from one of our nexuses registers it
/// and the other host's initiator port, then our other nexus registers:
/// three registrations of the key, and the other host can use it. Run
/// again, every nexus of ours is registered, and SPEC_I_PT (which only an
/// unregistered I_T nexus may send) is refused with exit 11, nothing
/// changed.
#[test]
fn spec_i_pt_registers_the_named_initiator_port_on_the_simulator() {
    let mut f = SimFabric::start(2).unwrap();
    let tid = other_tid(&f);
    let (s, out, err) = sim(&mut f, &format!("-o -G -S {KA:x} -X {tid} -v 1"));
    assert_eq!(s, ExitStatus::Success, "{out}{err}");
    assert!(err.contains("SPEC_I_PT on nexus 0"), "{err}");
    assert_eq!(sim_keys(&mut f), [KA, KA, KA]);
    let other = f.other_nexus();
    assert_eq!(f.logical_unit().registered_key(other), Some(KA));
    let reserve = PrCommand::Reserve {
        key: KA,
        rtype: PrType::WriteExclusive,
    };
    assert_eq!(f.other_host_pr(reserve).answer, PrAnswer::Done);
    assert_eq!(sim_reservation(&mut f), Some((KA, PrType::WriteExclusive)));
    let (s, _, err) = sim(&mut f, &format!("-o -G -S {KA:x} -X {tid}"));
    assert_eq!(s, ExitStatus::ReservationConflict, "{err}");
    assert!(err.contains("unregistered I_T nexus"), "{err}");
    assert_eq!(sim_keys(&mut f), [KA, KA, KA]);
    assert_eq!(sim_reservation(&mut f), Some((KA, PrType::WriteExclusive)));
}

/// `-o -M -K OURS -S THEIRS -X TID -Q PORT`: the reservation our key holds
/// (taken over from the nexus an earlier run reserved through, where this
/// run does not know it) moves to the other host's I_T nexus, which holds
/// it with its key; our registrations stay. What is refused says why:
/// no reservation (15), a type that differs (11), a destination the
/// target refuses (our own holder nexus: ILLEGAL REQUEST, 5), another
/// key's reservation (11), an all-registrants one (11); none changes
/// anything.
#[test]
fn register_and_move_hands_the_reservation_over_on_the_simulator() {
    let mut f = SimFabric::start(2).unwrap();
    let tid = other_tid(&f);
    let other = f.other_nexus();
    let mv = |t: u8, extra: &str| format!("-o -M -K {KA:x} -S {KB:x} -T {t} -X {tid} {extra}");
    // No reservation: nothing to move.
    sim_ok(&mut f, &format!("-o -G -S {KA:x}"));
    let (s, _, err) = sim(&mut f, &mv(1, "-Q 1"));
    assert_eq!(s, ExitStatus::Other, "{err}");
    assert!(err.contains("nothing to move"), "{err}");
    sim_ok(&mut f, &format!("-o -R -K {KA:x} -T 1"));
    assert_eq!(sim_reservation(&mut f), Some((KA, PrType::WriteExclusive)));
    // A type that differs.
    let (s, _, err) = sim(&mut f, &mv(3, "-Q 1"));
    assert_eq!(s, ExitStatus::ReservationConflict, "{err}");
    assert!(err.contains("does not match"), "{err}");
    // The target refuses a destination that is the holder itself.
    let holder = (0..2)
        .find(|&i| f.logical_unit().is_holder(f.nexus(i).unwrap()))
        .unwrap();
    let (name, isid) = f.initiator_port(holder).unwrap();
    let own = format!(
        "-o -M -K {KA:x} -S {KB:x} -X {name},i,0x{isid:012x} -Q {}",
        holder + 1
    );
    let (s, _, err) = sim(&mut f, &own);
    assert_eq!(s, ExitStatus::IllegalRequest, "{err}");
    assert!(f.logical_unit().is_holder(f.nexus(holder).unwrap()));
    assert_eq!(sim_keys(&mut f), [KA, KA]);
    // The move.
    let (s, out, err) = sim(&mut f, &mv(1, "-Q 1 -v 1"));
    assert_eq!(s, ExitStatus::Success, "{out}{err}");
    assert!(err.contains("REGISTER AND MOVE from nexus"), "{err}");
    assert_eq!(sim_reservation(&mut f), Some((KB, PrType::WriteExclusive)));
    assert!(f.logical_unit().is_holder(other));
    assert_eq!(f.logical_unit().registered_key(other), Some(KB));
    assert_eq!(sim_keys(&mut f), [KA, KA, KB]);
    // Another key's now: nothing to move.
    let (s, _, err) = sim(&mut f, &mv(1, "-Q 1"));
    assert_eq!(s, ExitStatus::ReservationConflict, "{err}");
    assert!(err.contains("not by this host's key"), "{err}");
    assert_eq!(sim_reservation(&mut f), Some((KB, PrType::WriteExclusive)));

    // All registrants: no holder to move.
    let mut f = SimFabric::start(2).unwrap();
    sim_ok(&mut f, &format!("-o -G -S {KA:x}"));
    sim_ok(&mut f, &format!("-o -R -K {KA:x} -T 7"));
    let (s, _, err) = sim(&mut f, &mv(7, "-Q 1"));
    assert_eq!(s, ExitStatus::ReservationConflict, "{err}");
    assert!(err.contains("all-registrants"), "{err}");
    assert_eq!(
        sim_reservation(&mut f),
        Some((0, PrType::WriteExclusiveAllRegistrants))
    );
    assert_eq!(sim_keys(&mut f), [KA, KA]);
}
