//! `mpath-prtest` end to end: the binary is pointed at a tgt target this
//! test starts (two portals, as a user would give one per target portal
//! group), runs every scenario through plain portals (relays for the
//! cuts, no tgtadm), prints the table and writes the JSON report. Needs
//! tgt and libiscsi-dev, and root (tgtd); never skips.

use std::process::Command;

use mpath_iscsi::scenarios;
use mpath_iscsi::tgt::LUN;
use mpath_iscsi::{PortalFabric, TgtTarget};

/// What tgt rejects with ILLEGAL REQUEST (see tgt_pr.rs).
const UNSUPPORTED_ON_TGT: [&str; 8] = [
    "other host preempts and aborts: fenced",
    "READ FULL STATUS agrees with the coordinator",
    "ALL_TG_PT registration",
    "APTPL registration",
    "APTPL: registrations survive a target restart",
    "SPEC_I_PT registers the other host",
    "REGISTER AND MOVE to the other host",
    "REGISTER AND MOVE through the coordinator",
];

#[test]
fn prtest_runs_every_scenario_against_a_tgt_target_and_writes_json() {
    let mut t = TgtTarget::start(2)
        .unwrap_or_else(|e| panic!("cannot start tgt: {e} (apt-get install -y tgt libiscsi-dev)"));
    let json = std::env::temp_dir().join(format!("mpath-prtest-{}.json", std::process::id()));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mpath-prtest"));
    for p in t.portals() {
        cmd.args(["--portal", p]);
    }
    let out = cmd
        .args(["--target", t.iqn(), "--lun", &LUN.to_string()])
        .args(["--initiator", "iqn.2024-01.org.mpath:cli-a"])
        .args(["--other-initiator", "iqn.2024-01.org.mpath:cli-b"])
        .arg("--json")
        .arg(&json)
        .output()
        .expect("run mpath-prtest");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "mpath-prtest failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    let names: Vec<&str> = scenarios::all::<PortalFabric>()
        .iter()
        .map(|s| s.name)
        .collect();
    // The table: a header, a rule, one line per scenario with its result.
    for name in &names {
        let want = if UNSUPPORTED_ON_TGT.contains(name) {
            "unsupported"
        } else {
            "pass"
        };
        let line = stdout
            .lines()
            .find(|l| l.starts_with(name))
            .unwrap_or_else(|| panic!("no row for {name} in\n{stdout}"));
        let result = line.split(" | ").nth(1).map(str::trim);
        assert_eq!(result, Some(want), "{line}");
    }
    assert!(
        stdout.contains("18 passed, 0 failed, 8 unsupported"),
        "{stdout}"
    );

    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON report written"))
            .expect("the report is JSON");
    std::fs::remove_file(&json).ok();
    assert_eq!(report["target"], t.iqn());
    assert_eq!(report["portals"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        (&report["passed"], &report["failed"], &report["unsupported"]),
        (&18.into(), &0.into(), &8.into())
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
    let want: Vec<(&str, &str)> = names
        .iter()
        .map(|n| {
            let v = if UNSUPPORTED_ON_TGT.contains(n) {
                "unsupported"
            } else {
                "passed"
            };
            (*n, v)
        })
        .collect();
    assert_eq!(got, want);
    assert!(rows
        .iter()
        .all(|r| r["details"].as_str().is_some_and(|d| !d.is_empty())));
    t.shutdown().unwrap();
}

#[test]
fn prtest_lists_its_scenarios_without_a_target() {
    let out = Command::new(env!("CARGO_BIN_EXE_mpath-prtest"))
        .args(["--portal", "127.0.0.1:1", "--target", "iqn.x:y", "--list"])
        .output()
        .expect("run mpath-prtest");
    assert!(out.status.success());
    let listed = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        listed.lines().count(),
        scenarios::all::<PortalFabric>().len(),
        "{listed}"
    );
}
