//! The persistent-reservation scenarios against a real iSCSI target: tgt's
//! `tgtd`, one per test on its own control and TCP ports, reached through
//! libiscsi sessions. These tests need `tgt` and `libiscsi-dev` installed
//! and root (tgtd); without them they fail with a message saying what to
//! install. They never skip.

use mpath_iscsi::scenarios::{self, Row, Scenario, Verdict};
use mpath_iscsi::tgt_fabric::TgtFabric;
use mpath_iscsi::TgtTarget;

fn fabric(n: usize) -> TgtFabric {
    TgtFabric::start(n).unwrap_or_else(|e| {
        panic!("cannot start the tgt fabric: {e} (needs tgt and libiscsi-dev: apt-get install -y tgt libiscsi-dev)")
    })
}

/// Run scenario `name` on its own target; it must end as `want`.
fn run(name: &str, want: Verdict) {
    let s: Scenario<TgtFabric> = scenarios::all()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    let mut f = fabric(s.nexuses);
    let row = Row::new(s.name, (s.run)(&mut f));
    eprintln!("{name}: {:?}: {}", row.result, row.details);
    assert_eq!(row.result, want, "{name}: {}", row.details);
}

/// What tgt (1.0.85) does with each scenario, in table order: it answers
/// PREEMPT AND ABORT, READ FULL STATUS, REGISTER AND MOVE (raw and through
/// the coordinator), and REGISTER with ALL_TG_PT, APTPL or SPEC_I_PT with
/// ILLEGAL REQUEST, INVALID FIELD IN CDB (24/00), and says so in REPORT
/// CAPABILITIES (ATP_C, PTPL_C and SIP_C 0): those are unsupported, never
/// passed.
const EXPECTED: [(&str, Verdict); 26] = [
    ("second session conflicts until registered", Verdict::Passed),
    ("register, reserve, write on every path", Verdict::Passed),
    ("new path registered before first write", Verdict::Passed),
    (
        "register, replace key, release, clear, unregister",
        Verdict::Passed,
    ),
    (
        "registration on a down path completes on return",
        Verdict::Passed,
    ),
    ("holder cut mid-write: reservation moves", Verdict::Passed),
    (
        "holder dies with no path up: moved on return",
        Verdict::Passed,
    ),
    (
        "type change under load: WE-RO, EA-RO, WE, WE-RO",
        Verdict::Passed,
    ),
    ("other host preempts: fenced", Verdict::Passed),
    (
        "other host preempts and aborts: fenced",
        Verdict::Unsupported,
    ),
    (
        "path restored after a preemption: fenced, no write lands",
        Verdict::Passed,
    ),
    ("type WE: access per SPC-4", Verdict::Passed),
    ("type EA: access per SPC-4", Verdict::Passed),
    ("type WE-RO: access per SPC-4", Verdict::Passed),
    ("type EA-RO: access per SPC-4", Verdict::Passed),
    ("type WE-AR: access per SPC-4", Verdict::Passed),
    ("type EA-AR: access per SPC-4", Verdict::Passed),
    (
        "all registrants: release, then EA-AR to WE-RO",
        Verdict::Passed,
    ),
    (
        "two hosts race: the other host reserves first",
        Verdict::Passed,
    ),
    (
        "READ FULL STATUS agrees with the coordinator",
        Verdict::Unsupported,
    ),
    ("ALL_TG_PT registration", Verdict::Unsupported),
    ("APTPL registration", Verdict::Unsupported),
    (
        "APTPL: registrations survive a target restart",
        Verdict::Unsupported,
    ),
    ("SPEC_I_PT registers the other host", Verdict::Unsupported),
    ("REGISTER AND MOVE to the other host", Verdict::Unsupported),
    (
        "REGISTER AND MOVE through the coordinator",
        Verdict::Unsupported,
    ),
];

#[test]
fn every_scenario_has_an_expected_result() {
    let names: Vec<&str> = scenarios::all::<TgtFabric>()
        .iter()
        .map(|s| s.name)
        .collect();
    let expected: Vec<&str> = EXPECTED.iter().map(|e| e.0).collect();
    assert_eq!(names, expected);
}

macro_rules! scenario_tests {
    ($($test:ident = $i:expr;)*) => {$(
        #[test]
        fn $test() {
            run(EXPECTED[$i].0, EXPECTED[$i].1);
        }
    )*};
}

scenario_tests! {
    second_session_conflicts_until_registered = 0;
    register_reserve_write_on_every_path = 1;
    new_path_registered_before_first_write = 2;
    register_replace_key_release_clear_unregister = 3;
    registration_on_down_path_completes_on_return = 4;
    holder_cut_mid_write_reservation_moves = 5;
    holder_dies_with_no_path_up_moved_on_return = 6;
    type_change_under_load = 7;
    other_host_preempts_we_are_fenced = 8;
    preempt_and_abort_is_unsupported_on_tgt = 9;
    path_restored_after_preemption_stays_fenced = 10;
    type_we_access = 11;
    type_ea_access = 12;
    type_we_ro_access = 13;
    type_ea_ro_access = 14;
    type_we_ar_access = 15;
    type_ea_ar_access = 16;
    all_registrants_release_and_type_change = 17;
    other_host_reserves_first = 18;
    read_full_status_is_unsupported_on_tgt = 19;
    all_tg_pt_is_unsupported_on_tgt = 20;
    aptpl_is_unsupported_on_tgt = 21;
    aptpl_restart_is_unsupported_on_tgt = 22;
    spec_i_pt_is_unsupported_on_tgt = 23;
    register_and_move_is_unsupported_on_tgt = 24;
    register_and_move_through_the_coordinator_is_unsupported_on_tgt = 25;
}

/// Every scenario on its own target, as a table.
#[test]
fn suite_table() {
    let rows = scenarios::run_suite(|n| TgtFabric::start(n).map_err(|e| e.to_string()));
    let table = scenarios::table(&rows);
    println!("{table}");
    let got: Vec<(&str, Verdict)> = rows.iter().map(|r| (r.scenario, r.result)).collect();
    assert_eq!(got, EXPECTED, "\n{table}");
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
