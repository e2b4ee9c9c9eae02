//! `mpath-sim compare`: every path selector on the same scenario and seed,
//! side by side, with the share of the fabric's ideal each reaches.

use std::process::ExitCode;

use mpath_core::{Duration, Policy};
use serde::Serialize;

use super::ideal::ideal_iops;
use super::run::run_timed;
use super::summary::RunSummary;
use super::{json, source, CliError, CompareArgs};
use crate::scenario_file::units::human_duration;

/// One selector's row.
#[derive(Clone, Debug, Serialize)]
pub struct Row {
    /// The selector.
    pub policy: String,
    /// Completed I/O per second of the workload.
    pub iops: f64,
    /// MiB per second.
    pub mib_per_s: f64,
    /// `iops` as a percentage of [`ideal_iops`]; `None` while the ideal
    /// is not known.
    pub percent_of_ideal: Option<f64>,
    /// Median latency, µs.
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// 99.9th percentile, µs.
    pub p999_us: u64,
    /// I/Os failed upward.
    pub failed_upward: u64,
    /// Attempts retried (failed over).
    pub retried: u64,
    /// The invariant broken, if any.
    pub violation: Option<String>,
}

/// The comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Comparison {
    /// Scenario name.
    pub scenario: String,
    /// The seed every row ran with.
    pub seed: u64,
    /// The fabric's ideal IOPS, when known.
    pub ideal_iops: Option<f64>,
    /// One row per selector.
    pub rows: Vec<Row>,
}

/// `compare`.
pub fn compare(a: &CompareArgs) -> Result<ExitCode, CliError> {
    let base = source::load_with(&a.scenario.scenario, &a.overrides)?;
    let ideal = ideal_iops(&base);
    let mut rows = Vec::new();
    for p in Policy::ALL {
        let mut s = base.clone();
        s.policy = p;
        let (report, wall) = run_timed(s.clone(), a.seed, !a.no_progress && !a.json)?;
        let sum = RunSummary::new(&s, &report, wall, String::new());
        rows.push(Row {
            policy: p.name().to_owned(),
            iops: sum.iops,
            mib_per_s: sum.mib_per_s,
            percent_of_ideal: ideal.filter(|&i| i > 0.0).map(|i| 100.0 * sum.iops / i),
            p50_us: sum.latency.p50_us,
            p99_us: sum.latency.p99_us,
            p999_us: sum.latency.p999_us,
            failed_upward: sum.failed_upward,
            retried: sum.retried,
            violation: sum.violation.map(|v| v.invariant),
        });
    }
    let c = Comparison {
        scenario: base.name.clone(),
        seed: a.seed,
        ideal_iops: ideal,
        rows,
    };
    let broken: Vec<&Row> = c.rows.iter().filter(|r| r.violation.is_some()).collect();
    if a.json {
        json::print(&c)?;
    } else {
        print!("{}", text(&c));
        for r in &broken {
            println!(
                "INVARIANT BROKEN with {}: {}\n  replay: mpath-sim run {} --seed {} --policy {}",
                r.policy,
                r.violation.as_deref().unwrap_or(""),
                a.scenario.scenario,
                a.seed,
                r.policy
            );
        }
    }
    Ok(if broken.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn text(c: &Comparison) -> String {
    // No successful I/O has no latency (the histogram reads 0).
    let lat = |n: u64| {
        if n == 0 {
            String::from("n/a")
        } else {
            human_duration(Duration::from_micros(n))
        }
    };
    let mut o = format!(
        "scenario {} (seed {}), every selector; ideal IOPS {}\n\n",
        c.scenario,
        c.seed,
        c.ideal_iops
            .map_or_else(|| String::from("n/a"), |i| format!("{i:.0}"))
    );
    o.push_str(&format!(
        "{:<14} {:>10} {:>9} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8}\n",
        "policy", "IOPS", "MiB/s", "% ideal", "p50", "p99", "p99.9", "failed", "retried"
    ));
    for r in &c.rows {
        o.push_str(&format!(
            "{:<14} {:>10.0} {:>9.1} {:>10} {:>9} {:>9} {:>9} {:>8} {:>8}{}\n",
            r.policy,
            r.iops,
            r.mib_per_s,
            r.percent_of_ideal
                .map_or_else(|| String::from("n/a"), |p| format!("{p:.1}%")),
            lat(r.p50_us),
            lat(r.p99_us),
            lat(r.p999_us),
            r.failed_upward,
            r.retried,
            if r.violation.is_some() { "  !" } else { "" }
        ));
    }
    o
}
