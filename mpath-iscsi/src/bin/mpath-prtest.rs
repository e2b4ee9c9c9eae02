//! `mpath-prtest`: run mpath's persistent-reservation conformance
//! scenarios against an iSCSI target of your own, and print which pass,
//! which fail and which the target does not support.
//!
//! ```text
//! mpath-prtest --portal 192.0.2.10:3260 --portal 192.0.2.11:3260 \
//!     --target iqn.2003-01.org.example:disk --lun 0 \
//!     --initiator iqn.2024-01.org.example:host-a \
//!     --other-initiator iqn.2024-01.org.example:host-b --json report.json
//! ```
//!
//! Every scenario logs in afresh: our host's nexus `i` through portal
//! `i mod count` (give one portal per target portal group to spread the
//! nexuses over target ports), each through a local relay that can cut it;
//! the other host through the first portal. Both initiator names need
//! access to the LUN. **The scenarios write to the LUN and leave
//! reservations cleared: point it at a scratch LUN.** The exit status is 0
//! when nothing failed (unsupported is not a failure), 1 otherwise.
//!
//! With `--sim` the same scenarios run on mpath-sim's simulated SCSI
//! logical unit instead (`SimFabric`: every option supported, a target
//! restart included), no target needed; the table is the reference a real
//! target's is read against. `--portal` and `--target` are then not given;
//! the initiator names still name the two hosts.
//!
//! ```text
//! mpath-prtest --sim --json sim.json
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mpath_iscsi::portal_fabric::{PortalConfig, PortalFabric};
use mpath_iscsi::scenarios::{self, Row, Scenario, Verdict};
use mpath_iscsi::Fabric;
use mpath_sim::sim_fabric::{SimConfig, SimFabric};
use serde::Serialize;

/// Run the persistent-reservation conformance scenarios against a target.
#[derive(Debug, Parser)]
#[command(name = "mpath-prtest", version)]
struct Args {
    /// Target portal, HOST:PORT; repeat for each target portal group.
    /// Nexus i uses portal i mod count.
    #[arg(
        long = "portal",
        value_name = "HOST:PORT",
        required_unless_present = "sim",
        conflicts_with = "sim"
    )]
    portals: Vec<String>,
    /// Target name (IQN).
    #[arg(
        long,
        value_name = "IQN",
        required_unless_present = "sim",
        conflicts_with = "sim"
    )]
    target: Option<String>,
    /// Run on mpath-sim's simulated SCSI logical unit instead of a
    /// target: no portal, no target name.
    #[arg(long)]
    sim: bool,
    /// Logical unit number (a scratch LUN: the scenarios write to it).
    #[arg(long, default_value_t = 0, conflicts_with = "sim")]
    lun: u32,
    /// Our host's initiator name.
    #[arg(
        long,
        value_name = "IQN",
        default_value = "iqn.2024-01.org.mpath:prtest-a"
    )]
    initiator: String,
    /// The other host's initiator name (preempts, races, TransportIDs).
    #[arg(
        long,
        value_name = "IQN",
        default_value = "iqn.2024-01.org.mpath:prtest-b"
    )]
    other_initiator: String,
    /// Run only the scenarios whose name contains this (repeatable).
    #[arg(long = "only", value_name = "TEXT")]
    only: Vec<String>,
    /// List the scenarios and exit.
    #[arg(long)]
    list: bool,
    /// Write the results as JSON to this file.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

/// What the JSON report names as the target with `--sim`.
const SIM_TARGET: &str = "mpath-sim";

/// The JSON report.
#[derive(Debug, Serialize)]
struct Report<'a> {
    target: &'a str,
    portals: &'a [String],
    lun: u32,
    initiator: &'a str,
    other_initiator: &'a str,
    passed: usize,
    failed: usize,
    unsupported: usize,
    rows: &'a [Row],
}

/// The scenarios `only` selects (all when it is empty).
fn chosen<F: Fabric>(only: &[String]) -> Vec<Scenario<F>> {
    scenarios::all::<F>()
        .into_iter()
        .filter(|s| only.is_empty() || only.iter().any(|o| s.name.contains(o.as_str())))
        .collect()
}

/// Run each scenario on a fresh fabric from `make`, saying on stderr how
/// each ended.
fn run<F: Fabric>(
    chosen: Vec<Scenario<F>>,
    mut make: impl FnMut(usize) -> Result<F, mpath_iscsi::FabricError>,
) -> Vec<Row> {
    let mut rows = Vec::new();
    for s in chosen {
        eprint!("{} ... ", s.name);
        let r = make(s.nexuses)
            .map_err(|e| scenarios::Unmet::Failed(format!("fabric: {e}")))
            .and_then(|mut f| (s.run)(&mut f));
        let row = Row::new(s.name, r);
        eprintln!("{}", row.result.label());
        rows.push(row);
    }
    rows
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for s in &scenarios::all::<PortalFabric>() {
            println!("{} ({} nexuses)", s.name, s.nexuses);
        }
        return ExitCode::SUCCESS;
    }
    let rows = if args.sim {
        let cfg = SimConfig {
            initiator: args.initiator.clone(),
            other_initiator: args.other_initiator.clone(),
            ..SimConfig::default()
        };
        let chosen = chosen::<SimFabric>(&args.only);
        if chosen.is_empty() {
            eprintln!("mpath-prtest: no scenario matches {:?}", args.only);
            return ExitCode::from(2);
        }
        run(chosen, |n| SimFabric::with_config(cfg.clone(), n))
    } else {
        let cfg = PortalConfig {
            portals: args.portals.clone(),
            // clap requires --target without --sim.
            target: args.target.clone().unwrap_or_default(),
            lun: args.lun,
            initiator: args.initiator.clone(),
            other_initiator: args.other_initiator.clone(),
            label: String::from("target"),
        };
        let chosen = chosen::<PortalFabric>(&args.only);
        if chosen.is_empty() {
            eprintln!("mpath-prtest: no scenario matches {:?}", args.only);
            return ExitCode::from(2);
        }
        run(chosen, |n| PortalFabric::start(cfg.clone(), n))
    };
    print!("{}", scenarios::table(&rows));
    let tally = |v: Verdict| rows.iter().filter(|r| r.result == v).count();
    let report = Report {
        target: args.target.as_deref().unwrap_or(SIM_TARGET),
        portals: &args.portals,
        lun: args.lun,
        initiator: &args.initiator,
        other_initiator: &args.other_initiator,
        passed: tally(Verdict::Passed),
        failed: tally(Verdict::Failed),
        unsupported: tally(Verdict::Unsupported),
        rows: &rows,
    };
    println!(
        "{} passed, {} failed, {} unsupported",
        report.passed, report.failed, report.unsupported
    );
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(|e| e.to_string())
            .and_then(|j| std::fs::write(path, j + "\n").map_err(|e| e.to_string()));
        if let Err(e) = written {
            eprintln!("mpath-prtest: cannot write {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    if report.failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
