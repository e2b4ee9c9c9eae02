//! `mpath-prtest --sim` end to end: the binary runs every scenario on
//! mpath-sim's simulated logical unit (no target, no portal, no root),
//! prints the table and writes the JSON report. The simulated device
//! server supports every option, so every scenario passes.

use std::process::Command;

use mpath_iscsi::scenarios;
use mpath_sim::sim_fabric::SimFabric;

fn prtest(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_mpath-prtest"))
        .args(args)
        .output()
        .expect("run mpath-prtest")
}

#[test]
fn prtest_runs_every_scenario_on_the_simulator_and_writes_json() {
    let json = std::env::temp_dir().join(format!("mpath-prtest-sim-{}.json", std::process::id()));
    let json_arg = json.to_str().expect("temp path is UTF-8");
    let out = prtest(&[
        "--sim",
        "--initiator",
        "iqn.2024-01.org.mpath:cli-sim-a",
        "--json",
        json_arg,
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "mpath-prtest --sim failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let names: Vec<&str> = scenarios::all::<SimFabric>()
        .iter()
        .map(|s| s.name)
        .collect();
    for name in &names {
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{stdout}"));
        assert_eq!(
            line.split(" | ").nth(1).map(str::trim),
            Some("pass"),
            "{line}"
        );
    }
    assert!(
        stdout.contains("26 passed, 0 failed, 0 unsupported"),
        "{stdout}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON report written"))
            .expect("the report is JSON");
    std::fs::remove_file(&json).ok();
    assert_eq!(report["target"], "mpath-sim");
    assert_eq!(report["portals"].as_array().map(Vec::len), Some(0));
    assert_eq!(report["initiator"], "iqn.2024-01.org.mpath:cli-sim-a");
    assert_eq!(
        (&report["passed"], &report["failed"], &report["unsupported"]),
        (&26.into(), &0.into(), &0.into())
    );
    let rows = report["rows"].as_array().expect("rows");
    let got: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| {
            (
                r["scenario"].as_str().unwrap_or("?"),
                r["result"].as_str().unwrap_or("?"),
            )
        })
        .collect();
    let want: Vec<(&str, &str)> = names.iter().map(|n| (*n, "passed")).collect();
    assert_eq!(got, want);
    // The initiator name given reaches the simulated target: SPC-4
    // TransportIDs name it in READ FULL STATUS and REGISTER AND MOVE.
    let moved = rows
        .iter()
        .find(|r| r["scenario"] == "REGISTER AND MOVE to the other host")
        .and_then(|r| r["details"].as_str())
        .unwrap_or("");
    assert!(
        moved.contains("iqn.2024-01.org.mpath:prtest-b,i,0x"),
        "{moved}"
    );
}

#[test]
fn prtest_sim_runs_only_the_chosen_scenarios() {
    let out = prtest(&["--sim", "--only", "APTPL"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains("2 passed, 0 failed, 0 unsupported"),
        "{stdout}"
    );
    assert!(
        stdout.contains("APTPL: registrations survive a target restart | pass"),
        "{stdout}"
    );
}

#[test]
fn prtest_needs_a_target_or_sim_and_not_both() {
    // Neither: clap's usage error (exit 2), naming what is missing.
    let out = prtest(&[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--portal"));
    // Both: a conflict, nothing run.
    let out = prtest(&["--sim", "--portal", "127.0.0.1:1", "--target", "iqn.x:y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
}
