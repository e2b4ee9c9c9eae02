//! The persistent-reservation scenarios (mpath-prsuite, the suite
//! mpath-iscsi runs on tgt and LIO) on the simulated SCSI logical unit,
//! through [`SimFabric`]. The simulated device server supports every
//! option the scenarios exercise (PREEMPT AND ABORT, READ FULL STATUS,
//! ALL_TG_PT, APTPL and a target restart, SPEC_I_PT, REGISTER AND MOVE,
//! raw and through the coordinator),
//! so every scenario must pass: an unsupported one is as wrong here as a
//! failed one.

use mpath_core::outcome::ProbeResult;
use mpath_core::reservation::PrCommand;
use mpath_core::Outcome;
use mpath_prsuite::fabric::Fabric;
use mpath_prsuite::pr_transport::PrAnswer;
use mpath_prsuite::scenarios::{self, Row, Scenario, Verdict};
use mpath_sim::sim_fabric::{isid, SimConfig, SimFabric, HOST_A};

fn fabric(n: usize) -> SimFabric {
    SimFabric::start(n).unwrap_or_else(|e| panic!("cannot build the simulated fabric: {e}"))
}

/// Run scenario `name` on its own logical unit; it must pass.
fn run(name: &str) {
    let s: Scenario<SimFabric> = scenarios::all()
        .into_iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no scenario {name}"));
    let mut f = fabric(s.nexuses);
    let row = Row::new(s.name, (s.run)(&mut f));
    eprintln!("{name}: {:?}: {}", row.result, row.details);
    assert_eq!(row.result, Verdict::Passed, "{name}: {}", row.details);
}

/// Every scenario, in table order.
const SCENARIOS: [&str; 26] = [
    "second session conflicts until registered",
    "register, reserve, write on every path",
    "new path registered before first write",
    "register, replace key, release, clear, unregister",
    "registration on a down path completes on return",
    "holder cut mid-write: reservation moves",
    "holder dies with no path up: moved on return",
    "type change under load: WE-RO, EA-RO, WE, WE-RO",
    "other host preempts: fenced",
    "other host preempts and aborts: fenced",
    "path restored after a preemption: fenced, no write lands",
    "type WE: access per SPC-4",
    "type EA: access per SPC-4",
    "type WE-RO: access per SPC-4",
    "type EA-RO: access per SPC-4",
    "type WE-AR: access per SPC-4",
    "type EA-AR: access per SPC-4",
    "all registrants: release, then EA-AR to WE-RO",
    "two hosts race: the other host reserves first",
    "READ FULL STATUS agrees with the coordinator",
    "ALL_TG_PT registration",
    "APTPL registration",
    "APTPL: registrations survive a target restart",
    "SPEC_I_PT registers the other host",
    "REGISTER AND MOVE to the other host",
    "REGISTER AND MOVE through the coordinator",
];

#[test]
fn every_scenario_is_listed() {
    let names: Vec<&str> = scenarios::all::<SimFabric>()
        .iter()
        .map(|s| s.name)
        .collect();
    assert_eq!(names, SCENARIOS);
}

macro_rules! scenario_tests {
    ($($test:ident = $i:expr;)*) => {$(
        #[test]
        fn $test() {
            run(SCENARIOS[$i]);
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
    other_host_preempts_and_aborts_we_are_fenced = 9;
    path_restored_after_preemption_stays_fenced = 10;
    type_we_access = 11;
    type_ea_access = 12;
    type_we_ro_access = 13;
    type_ea_ro_access = 14;
    type_we_ar_access = 15;
    type_ea_ar_access = 16;
    all_registrants_release_and_type_change = 17;
    other_host_reserves_first = 18;
    read_full_status_agrees = 19;
    all_tg_pt_registration = 20;
    aptpl_registration = 21;
    aptpl_survives_a_target_restart = 22;
    spec_i_pt_registers_the_other_host = 23;
    register_and_move_to_the_other_host = 24;
    register_and_move_through_the_coordinator = 25;
}

/// Every scenario on its own logical unit, as a table: all pass.
#[test]
fn suite_table() {
    let rows = scenarios::run_suite(|n| SimFabric::start(n).map_err(|e| e.to_string()));
    let table = scenarios::table(&rows);
    println!("{table}");
    let got: Vec<(&str, Verdict)> = rows.iter().map(|r| (r.scenario, r.result)).collect();
    let want: Vec<(&str, Verdict)> = SCENARIOS.iter().map(|&s| (s, Verdict::Passed)).collect();
    assert_eq!(got, want, "\n{table}");
}

/// The same table with every port in one target port group.
#[test]
fn suite_passes_with_one_target_port_group() {
    let cfg = SimConfig {
        groups: 1,
        ..SimConfig::default()
    };
    let rows =
        scenarios::run_suite(|n| SimFabric::with_config(cfg.clone(), n).map_err(|e| e.to_string()));
    let failed: Vec<&Row> = rows
        .iter()
        .filter(|r| r.result != Verdict::Passed)
        .collect();
    assert!(failed.is_empty(), "\n{}", scenarios::table(&rows));
}

/// The fabric's topology as the host sees it through INQUIRY: nexus `i`
/// on relative target port `i + 1`, alternating between the two groups,
/// the other host on port 1; each nexus its own initiator port.
#[test]
fn nexuses_reach_distinct_target_ports_in_two_groups() {
    let mut f = fabric(3);
    let ids: Vec<_> = (0..3).map(|i| f.identify(i).unwrap()).collect();
    let ports: Vec<Option<u16>> = ids.iter().map(|id| id.relative_target_port).collect();
    assert_eq!(ports, [Some(1), Some(2), Some(3)]);
    let groups: Vec<Option<u16>> = ids.iter().map(|id| id.target_port_group).collect();
    assert_eq!(groups, [Some(1), Some(2), Some(1)]);
    assert!(ids.iter().all(|id| id.lu == ids[0].lu), "one logical unit");
    let other = f.other_host_identify().unwrap();
    assert_eq!(other.relative_target_port, Some(1));
    assert_eq!(f.initiator_port(1), Some((HOST_A.to_owned(), isid(2))));
    assert_eq!(f.initiator_port(3), None);
    assert_ne!(f.other_initiator_port(), f.initiator_port(0));
}

/// A cut nexus fails at the transport and keeps its registration; restored,
/// it is the same I_T nexus (registered, no second registration), and the
/// login's unit attention was taken by the login's TEST UNIT READY, as
/// libiscsi does.
#[test]
fn a_restored_nexus_is_the_same_i_t_nexus() {
    let mut f = fabric(2);
    let key = scenarios::OURS;
    for i in 0..2 {
        assert_eq!(f.pr(i, PrCommand::Register { key }).answer, PrAnswer::Done);
    }
    let rtype = scenarios::RTYPE;
    assert_eq!(
        f.pr(0, PrCommand::Reserve { key, rtype }).answer,
        PrAnswer::Done
    );
    let block = scenarios::pattern(f.block_size(), 1, 0);
    f.cut_nexus(1).unwrap();
    assert!(
        matches!(f.write(1, 1, &block).outcome, Outcome::PathError(_)),
        "a cut nexus fails at the transport"
    );
    assert!(!f.logical_unit().is_logged_in(f.nexus(1).expect("nexus 1")));
    f.restore_nexus(1).unwrap();
    assert_eq!(f.write(1, 1, &block).outcome, Outcome::Success);
    assert_eq!(f.read(0, 1, 1).1, block);
    assert_eq!(
        f.other_host_pr(PrCommand::ReadKeys).answer,
        PrAnswer::Keys(vec![key, key])
    );
    assert_eq!(f.logical_unit().registrations().len(), 2);
}

/// With a cut, one-block writes complete (their data went with the
/// command) and longer ones fail at the transport without reaching the
/// device server; all were outstanding at the cut, and the nexus is down
/// afterwards.
#[test]
fn a_cut_batch_loses_the_writes_waiting_for_an_r2t() {
    let mut f = fabric(2);
    let bs = f.block_size();
    let small = scenarios::pattern(bs, 0, 1);
    let large = scenarios::pattern(bs, 0, 2).repeat(32);
    let out = f
        .write_batch(0, &[(0, &small), (1, &large), (40, &small)], true)
        .unwrap();
    assert_eq!(out.in_flight_at_cut, 3);
    let outcomes: Vec<Outcome> = out.completions.iter().map(|c| c.outcome).collect();
    assert_eq!(outcomes[0], Outcome::Success);
    assert!(matches!(outcomes[1], Outcome::PathError(_)), "{outcomes:?}");
    assert_eq!(outcomes[2], Outcome::Success);
    assert_eq!(f.read(1, 0, 1).1, small);
    assert_eq!(
        f.read(1, 1, 1).1,
        vec![0; bs],
        "the large write never landed"
    );
    assert_eq!(
        f.probe(0),
        ProbeResult::Down,
        "nexus 0 is down after the cut"
    );
    let plain = f.write_batch(1, &[(2, &small)], false).unwrap();
    assert_eq!(plain.in_flight_at_cut, 0);
    assert_eq!(plain.completions[0].outcome, Outcome::Success);
}

/// A restart keeps the blocks, loses registrations without APTPL, and
/// logs every nexus in again, a cut one included.
#[test]
fn a_restart_logs_every_nexus_in_again() {
    let mut f = fabric(2);
    let key = scenarios::OURS;
    assert_eq!(f.pr(0, PrCommand::Register { key }).answer, PrAnswer::Done);
    let block = scenarios::pattern(f.block_size(), 3, 7);
    assert_eq!(f.write(0, 3, &block).outcome, Outcome::Success);
    f.cut_nexus(1).unwrap();
    let said = f.restart_target().unwrap();
    assert!(said.contains("APTPL off"), "{said}");
    assert_eq!(f.restarts(), 1);
    assert!(f.logical_unit().registrations().is_empty());
    for i in 0..2 {
        let n = f.nexus(i).unwrap();
        assert!(f.logical_unit().is_logged_in(n), "nexus {i}");
        assert!(f.logical_unit().pending_unit_attentions(n).is_empty());
    }
    assert_eq!(f.read(1, 3, 1).1, block);
}
