//! The `mpathpersist` tool against a real tgt target, one invocation per
//! step as fence_mpath runs it (each invocation logs in its own sessions),
//! with the target's registrations checked after each step by READ KEYS
//! and READ RESERVATION from a session of its own.
//!
//! tgt names the I_T nexus by session, so every invocation's nexuses are
//! new ones: these tests are where registrations left behind by earlier
//! runs would show.

use mpath_core::reservation::{PrCommand, PrType};
use mpath_iscsi::persist::{run, ExitStatus};
use mpath_iscsi::pr_transport::{self, PrAnswer};
use mpath_iscsi::{IscsiNexus, NexusConfig, TgtTarget};
use mpath_scsi::PrOptions;

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
