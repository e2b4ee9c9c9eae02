//! The persistent-reservation scenarios against a real iSCSI target: tgt's
//! `tgtd`, one per test on its own control and TCP ports, reached through
//! libiscsi sessions. These tests need `tgt` and `libiscsi-dev` installed
//! and root (tgtd); without them they fail with a message saying what to
//! install. They never skip.

use mpath_iscsi::scenarios::{self, Scenario, ScenarioResult};
use mpath_iscsi::tgt_fabric::TgtFabric;
use mpath_iscsi::TgtTarget;

fn fabric(n: usize) -> TgtFabric {
    TgtFabric::start(n).unwrap_or_else(|e| {
        panic!("cannot start the tgt fabric: {e} (needs tgt and libiscsi-dev: apt-get install -y tgt libiscsi-dev)")
    })
}

fn run(name: &str) {
    let s: Scenario<TgtFabric> = scenarios::all()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    let mut f = fabric(s.nexuses);
    let r: ScenarioResult = (s.run)(&mut f);
    match r {
        Ok(details) => eprintln!("{name}: {details}"),
        Err(why) => panic!("{name}: {why}"),
    }
}

#[test]
fn second_session_conflicts_until_registered() {
    run("second session conflicts until registered");
}

#[test]
fn register_reserve_write_on_every_path() {
    run("register, reserve, write on every path");
}

#[test]
fn new_path_registered_before_first_write() {
    run("new path registered before first write");
}

#[test]
fn holder_cut_mid_write_reservation_moves() {
    run("holder cut mid-write: reservation moves");
}

#[test]
fn other_host_preempts_we_are_fenced() {
    run("other host preempts: fenced");
}

#[test]
fn release_clear_unregister_leave_no_key() {
    run("release, clear, unregister: no key left");
}

#[test]
fn registration_on_down_path_completes_on_return() {
    run("registration on a down path completes on return");
}

/// Every scenario on its own target, as a table.
#[test]
fn suite_table() {
    let rows = scenarios::run_suite(|n| TgtFabric::start(n).map_err(|e| e.to_string()));
    let table = scenarios::table(&rows);
    println!("{table}");
    assert_eq!(rows.len(), scenarios::all::<TgtFabric>().len());
    assert!(rows.iter().all(|r| r.passed), "failed scenarios:\n{table}");
}

/// tgt names the I_T nexus by session: a session that logs in again with
/// the same initiator name and ISID is not registered, and the old
/// session's registration stays listed. This is why the host re-adds a
/// returning path to the coordinator instead of trusting `path_up`.
#[test]
fn tgt_treats_a_new_session_as_a_new_nexus() {
    use mpath_core::reservation::PrCommand;
    use mpath_core::Outcome;
    use mpath_iscsi::pr_transport::PrAnswer;
    use mpath_iscsi::Fabric;
    let mut f = fabric(2);
    let key = scenarios::OURS;
    assert_eq!(f.pr(0, PrCommand::Register { key }).answer, PrAnswer::Done);
    assert_eq!(f.pr(1, PrCommand::Register { key }).answer, PrAnswer::Done);
    let rtype = scenarios::RTYPE;
    assert_eq!(
        f.pr(0, PrCommand::Reserve { key, rtype }).answer,
        PrAnswer::Done
    );
    let block = scenarios::pattern(f.block_size(), 1, 0);
    assert_eq!(f.write(1, 1, &block).outcome, Outcome::Success);
    f.cut_nexus(1).unwrap();
    assert_ne!(
        f.write(1, 1, &block).outcome,
        Outcome::Success,
        "cut nexus still writes"
    );
    f.restore_nexus(1).unwrap();
    assert_eq!(
        f.write(1, 1, &block).outcome,
        Outcome::ReservationConflict,
        "tgt kept the registration across the new session"
    );
    assert_eq!(
        f.other_host_pr(PrCommand::ReadKeys).answer,
        PrAnswer::Keys(vec![key, key]),
        "the old session's registration is still listed"
    );
}

/// The fixture stops exactly the tgtd it started and leaves no process.
#[test]
fn tgtd_is_stopped_by_pid() {
    let mut t = TgtTarget::start(2).unwrap_or_else(|e| panic!("{e}"));
    let pid = t.pid().expect("running");
    let pattern = t.command_line();
    let running = std::process::Command::new("pgrep")
        .args(["-f", &pattern])
        .output()
        .expect("pgrep (procps) is needed");
    assert!(
        String::from_utf8_lossy(&running.stdout).contains(&pid.to_string()),
        "pgrep does not see tgtd {pid}"
    );
    assert_eq!(t.portals().len(), 2);
    t.shutdown().unwrap();
    assert!(t.pid().is_none());
    let after = std::process::Command::new("pgrep")
        .args(["-f", &pattern])
        .output()
        .unwrap();
    assert!(!after.status.success(), "tgtd still running: {:?}", after);
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
}
