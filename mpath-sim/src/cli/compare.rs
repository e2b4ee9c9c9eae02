//! `mpath-sim compare`: every path selector on the same scenario and seed,
//! side by side, with the share of the fabric's ideal each reaches.

use std::process::ExitCode;

use mpath_core::{Duration, Policy};
use serde::Serialize;

use std::time::Instant as WallInstant;

use super::ideal::ideal_iops;
use super::plot_compare::compare_svg;
use super::run::setup;
use super::summary::RunSummary;
use super::{json, progress, source, write_svg, CliError, CompareArgs};
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
    /// Standard deviation, µs.
    pub stddev_us: f64,
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
    /// The comparison in one sentence.
    pub verdict: String,
}

/// `compare`.
pub fn compare(a: &CompareArgs) -> Result<ExitCode, CliError> {
    let base = source::load_with(&a.scenario, &a.overrides)?;
    let ideal = ideal_iops(&base);
    let mut rows = Vec::new();
    let pieces = progress::PIECES;
    let mut bar = progress::LateBar::new(
        pieces * Policy::ALL.len() as u64,
        &base.name,
        !a.no_progress && !a.json,
    );
    for (k, p) in Policy::ALL.into_iter().enumerate() {
        let mut s = base.clone();
        s.policy = p;
        bar.message(&format!("{} with {}", base.name, p.name()));
        let t = WallInstant::now();
        let sim = setup(s.clone(), a.seed)?;
        let done = pieces * k as u64;
        let report = progress::run_in_pieces(sim, |i| bar.set(done + i));
        let sum = RunSummary::new(&s, &report, t.elapsed().as_secs_f64(), String::new());
        rows.push(Row {
            policy: p.name().to_owned(),
            iops: sum.iops,
            mib_per_s: sum.mib_per_s,
            percent_of_ideal: ideal.filter(|&i| i > 0.0).map(|i| 100.0 * sum.iops / i),
            p50_us: sum.latency.p50_us,
            p99_us: sum.latency.p99_us,
            p999_us: sum.latency.p999_us,
            stddev_us: sum.latency.stddev_us,
            failed_upward: sum.failed_upward,
            retried: sum.retried,
            violation: sum.violation.map(|v| v.invariant),
        });
    }
    bar.clear();
    let mut c = Comparison {
        scenario: base.name.clone(),
        seed: a.seed,
        ideal_iops: ideal,
        rows,
        verdict: String::new(),
    };
    c.verdict = verdict(&c.rows);
    let broken: Vec<&Row> = c.rows.iter().filter(|r| r.violation.is_some()).collect();
    if a.json {
        json::print(&c)?;
    } else {
        print!("{}", text(&c));
        if base.dm_table.is_some() {
            println!(
                "dm table: each row runs it with the row's selector in place of its own ({}); \
                 groups, features and relative throughputs are the table's",
                base.policy.name()
            );
        }
        println!("\n{}", c.verdict);
        let table = a
            .scenario
            .dm_table
            .as_ref()
            .map_or_else(String::new, |t| format!(" --dm-table '{t}'"));
        for r in &broken {
            println!(
                "INVARIANT BROKEN with {}: {}\n  replay: mpath-sim run {} --seed {}{table} --policy {}",
                r.policy,
                r.violation.as_deref().unwrap_or(""),
                a.scenario.scenario,
                a.seed,
                r.policy
            );
        }
    }
    if let Some(path) = &a.svg {
        write_svg(path, &compare_svg(&c)?)?;
    }
    Ok(if broken.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A row's throughput as a newcomer reads it: % of ideal, or IOPS when
/// the ideal is not known.
fn share(r: &Row) -> String {
    r.percent_of_ideal.map_or_else(
        || format!("{:.0} IOPS", r.iops),
        |p| format!("{p:.1} % of the fabric's ideal"),
    )
}

/// Within half a percent: a tie (selectors that place I/O alike reach
/// the same figure give or take the seed's noise).
fn ties(a: f64, b: f64) -> bool {
    a >= b * 0.995
}

/// One line a newcomer understands: which selector does best here, by how
/// much over the next, and which does worst. The best is the one that
/// failed the fewest I/O upward, then moved the most; a selector that
/// broke an invariant is never the best.
pub fn verdict(rows: &[Row]) -> String {
    let mut ok: Vec<&Row> = rows.iter().filter(|r| r.violation.is_none()).collect();
    if ok.is_empty() {
        return String::from("verdict: every selector broke an invariant here (see below)");
    }
    ok.sort_by(|a, b| {
        a.failed_upward
            .cmp(&b.failed_upward)
            .then(b.iops.total_cmp(&a.iops))
    });
    let lead = ok[0];
    let (best, rest): (Vec<&Row>, Vec<&Row>) = ok
        .iter()
        .partition(|r| r.failed_upward == lead.failed_upward && ties(r.iops, lead.iops));
    let names: Vec<&str> = best.iter().map(|r| r.policy.as_str()).collect();
    let mut o = if names.len() == 1 {
        format!("verdict: {} does best here: {}", names[0], share(lead))
    } else {
        let (last, first) = names.split_last().unwrap_or((&"", &[]));
        format!(
            "verdict: {} and {last} tie for best here: {}",
            first.join(", "),
            share(lead)
        )
    };
    if lead.failed_upward > 0 {
        o.push_str(&format!(", with {} I/O failed upward", lead.failed_upward));
    }
    let mut rest = rest;
    rest.sort_by(|a, b| b.iops.total_cmp(&a.iops));
    if let Some(next) = rest.first() {
        if next.iops > 0.0 {
            o.push_str(&format!(
                ", {:.2}x the next best ({}: {})",
                lead.iops / next.iops,
                next.policy,
                share(next)
            ));
        } else {
            o.push_str(&format!(", while {} moved nothing", next.policy));
        }
        if let Some(worst) = rest.last().filter(|w| w.policy != next.policy) {
            o.push_str(&format!("; worst: {} ({})", worst.policy, share(worst)));
        }
    }
    let failing: Vec<String> = rest
        .iter()
        .filter(|r| r.failed_upward > lead.failed_upward)
        .map(|r| format!("{} {}", r.policy, r.failed_upward))
        .collect();
    if !failing.is_empty() {
        o.push_str(&format!("; I/O failed upward: {}", failing.join(", ")));
    }
    o.push('.');
    o
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
        "{:<14} {:>10} {:>9} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}\n",
        "policy", "IOPS", "MiB/s", "% ideal", "p50", "p99", "p99.9", "stddev", "failed", "retried"
    ));
    for r in &c.rows {
        o.push_str(&format!(
            "{:<14} {:>10.0} {:>9.1} {:>10} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}{}\n",
            r.policy,
            r.iops,
            r.mib_per_s,
            r.percent_of_ideal
                .map_or_else(|| String::from("n/a"), |p| format!("{p:.1}%")),
            lat(r.p50_us),
            lat(r.p99_us),
            lat(r.p999_us),
            format!("{:.0}us", r.stddev_us),
            r.failed_upward,
            r.retried,
            if r.violation.is_some() { "  !" } else { "" }
        ));
    }
    o
}
