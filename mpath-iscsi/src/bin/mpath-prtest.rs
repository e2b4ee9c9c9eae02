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

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use mpath_iscsi::portal_fabric::{PortalConfig, PortalFabric};
use mpath_iscsi::scenarios::{self, Row, Verdict};
use serde::Serialize;

/// Run the persistent-reservation conformance scenarios against a target.
#[derive(Debug, Parser)]
#[command(name = "mpath-prtest", version)]
struct Args {
    /// Target portal, HOST:PORT; repeat for each target portal group.
    /// Nexus i uses portal i mod count.
    #[arg(long = "portal", required = true, value_name = "HOST:PORT")]
    portals: Vec<String>,
    /// Target name (IQN).
    #[arg(long, value_name = "IQN")]
    target: String,
    /// Logical unit number (a scratch LUN: the scenarios write to it).
    #[arg(long, default_value_t = 0)]
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

fn main() -> ExitCode {
    let args = Args::parse();
    let all = scenarios::all::<PortalFabric>();
    if args.list {
        for s in &all {
            println!("{} ({} nexuses)", s.name, s.nexuses);
        }
        return ExitCode::SUCCESS;
    }
    let cfg = PortalConfig {
        portals: args.portals.clone(),
        target: args.target.clone(),
        lun: args.lun,
        initiator: args.initiator.clone(),
        other_initiator: args.other_initiator.clone(),
        label: String::from("target"),
    };
    let chosen: Vec<_> = all
        .into_iter()
        .filter(|s| args.only.is_empty() || args.only.iter().any(|o| s.name.contains(o.as_str())))
        .collect();
    if chosen.is_empty() {
        eprintln!("mpath-prtest: no scenario matches {:?}", args.only);
        return ExitCode::from(2);
    }
    let mut rows = Vec::new();
    for s in chosen {
        eprint!("{} ... ", s.name);
        let r = PortalFabric::start(cfg.clone(), s.nexuses)
            .map_err(|e| scenarios::Unmet::Failed(format!("fabric: {e}")))
            .and_then(|mut f| (s.run)(&mut f));
        let row = Row::new(s.name, r);
        eprintln!("{}", row.result.label());
        rows.push(row);
    }
    print!("{}", scenarios::table(&rows));
    let tally = |v: Verdict| rows.iter().filter(|r| r.result == v).count();
    let report = Report {
        target: &args.target,
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
