//! A run's summary: what a storage engineer asks of a run (IOPS and MiB/s
//! per path and in all, latency percentiles, what failed over and what
//! failed upward, how long I/O took to resume after each fault), as one
//! value that prints as text or JSON.

use serde::Serialize;

use crate::engine::{Report, Scenario};
use crate::scenario_file::describe_fault;
use crate::scenario_file::names::{no_path_name, transport_name};
use crate::scenario_file::units::{format_duration, human_duration};

use mpath_core::Duration;

/// One path's share.
#[derive(Clone, Debug, Serialize)]
pub struct PathSummary {
    /// Path index.
    pub path: usize,
    /// Its target port group.
    pub group: u16,
    /// I/O attempts completed on it.
    pub ios: u64,
    /// Bytes they moved.
    pub bytes: u64,
    /// Attempts that failed on it.
    pub failed: u64,
    /// Completed I/O per second of the workload's duration.
    pub iops: f64,
    /// MiB per second of the workload's duration.
    pub mib_per_s: f64,
}

/// Completion latency of successful I/O.
#[derive(Clone, Debug, Serialize)]
pub struct Latency {
    /// Median, µs.
    pub p50_us: u64,
    /// 99th percentile, µs.
    pub p99_us: u64,
    /// 99.9th percentile, µs.
    pub p999_us: u64,
    /// Largest, µs.
    pub max_us: u64,
    /// Mean, µs.
    pub mean_us: f64,
    /// Standard deviation, µs: the spread a latency-aware selector should
    /// narrow (what fio reports as `clat stdev`).
    pub stddev_us: f64,
}

impl Latency {
    /// The report's latency figures (all 0 without a successful I/O).
    pub fn of(report: &Report) -> Latency {
        let h = &report.latency_us;
        let (mean_us, stddev_us) = if h.is_empty() {
            (0.0, 0.0)
        } else {
            (h.mean(), h.stdev())
        };
        Latency {
            p50_us: report.latency(50.0),
            p99_us: report.latency(99.0),
            p999_us: report.latency(99.9),
            max_us: h.max(),
            mean_us,
            stddev_us,
        }
    }
}

/// One fault and how long until I/O completed again after it.
#[derive(Clone, Debug, Serialize)]
pub struct FaultSummary {
    /// When, µs from the start.
    pub at_us: u64,
    /// What (`link-down path 0`).
    pub fault: String,
    /// Until the next successful completion (Report::resume), µs; `None`:
    /// none after it. For a fault that stops no I/O this is just the next
    /// completion.
    pub resumed_after_us: Option<u64>,
}

/// An invariant broken.
#[derive(Clone, Debug, Serialize)]
pub struct ViolationSummary {
    /// Its name (`no-stale-write`).
    pub invariant: String,
    /// The engine step.
    pub step: u64,
    /// Virtual time, µs.
    pub at_us: u64,
    /// What was seen.
    pub detail: String,
    /// The command that runs it again.
    pub replay: String,
}

/// A run, summarised.
#[derive(Clone, Debug, Serialize)]
pub struct RunSummary {
    /// Scenario name.
    pub scenario: String,
    /// The seed.
    pub seed: u64,
    /// scsi or nvme.
    pub transport: String,
    /// The path selector.
    pub policy: String,
    /// What happens to I/O with no path.
    pub no_path: String,
    /// Outstanding I/Os of the workload.
    pub queue_depth: u32,
    /// CPUs submitting, each with its own cursor.
    pub cpus: u32,
    /// Percentage of reads.
    pub read_percent: u8,
    /// Bytes per I/O.
    pub io_bytes: u64,
    /// The workload's duration, µs: the time rates are over.
    pub duration_us: u64,
    /// Virtual time the run covered, drain included, µs.
    pub elapsed_us: u64,
    /// Completed I/O per second of the workload's duration.
    pub iops: f64,
    /// MiB per second of the workload's duration.
    pub mib_per_s: f64,
    /// The fabric's ideal IOPS for this workload (`engine::ideal`).
    pub ideal_iops: Option<f64>,
    /// `iops` as a percentage of the ideal.
    pub percent_of_ideal: Option<f64>,
    /// Per path.
    pub paths: Vec<PathSummary>,
    /// Latency of successful I/O.
    pub latency: Latency,
    /// I/Os the application submitted.
    pub submitted: u64,
    /// Completed successfully.
    pub completed: u64,
    /// Failed upward (the application saw an error).
    pub failed_upward: u64,
    /// Still outstanding at the end.
    pub outstanding: u64,
    /// Attempts sent again after a failed attempt (failovers and retries).
    pub retried: u64,
    /// Controller (session) resets.
    pub resets: u64,
    /// The faults, in time order.
    pub faults: Vec<FaultSummary>,
    /// Engine steps.
    pub steps: u64,
    /// The trace hash, hex.
    pub trace: String,
    /// Wall-clock seconds the run took.
    pub wall_s: f64,
    /// The first invariant broken, if any.
    pub violation: Option<ViolationSummary>,
}

const MIB: f64 = 1024.0 * 1024.0;

fn per_sec(n: u64, over: Duration) -> f64 {
    let secs = over.as_nanos() as f64 / 1e9;
    if secs == 0.0 {
        0.0
    } else {
        n as f64 / secs
    }
}

impl RunSummary {
    /// Summarise `report` of `scenario`; `replay` is the command that runs
    /// it again (shown with a violation).
    pub fn new(scenario: &Scenario, report: &Report, wall_s: f64, replay: String) -> RunSummary {
        let over = scenario.duration;
        // Rates over the workload's window: what completed in the drain
        // after it is not throughput.
        let paths: Vec<PathSummary> = report
            .window_paths
            .iter()
            .enumerate()
            .map(|(i, p)| PathSummary {
                path: i,
                group: scenario.paths.get(i).map_or(0, |c| c.group),
                ios: p.ios,
                bytes: p.bytes,
                failed: p.failed,
                iops: per_sec(p.ios, over),
                mib_per_s: per_sec(p.bytes, over) / MIB,
            })
            .collect();
        let bytes = report.window_bytes;
        // The engine fires faults in time order (the file loader insists
        // on it; built-ins are written so), and records one resume time
        // per fault fired.
        let faults = scenario
            .faults
            .iter()
            .enumerate()
            .map(|(i, &(at, f))| FaultSummary {
                at_us: at.as_nanos() / 1_000,
                fault: describe_fault(f),
                resumed_after_us: report
                    .resume
                    .get(i)
                    .copied()
                    .flatten()
                    .map(|d| d.as_nanos() / 1_000),
            })
            .collect();
        RunSummary {
            scenario: scenario.name.clone(),
            seed: report.seed,
            transport: transport_name(scenario.transport).to_owned(),
            policy: scenario.policy.name().to_owned(),
            no_path: no_path_name(scenario.no_path),
            queue_depth: scenario.workload.queue_depth,
            cpus: scenario.workload.cpus,
            read_percent: scenario.workload.read_percent,
            io_bytes: u64::from(scenario.block_size) * u64::from(scenario.workload.blocks),
            duration_us: over.as_nanos() / 1_000,
            elapsed_us: report.elapsed.as_nanos() / 1_000,
            iops: report.iops(),
            ideal_iops: super::ideal::ideal_iops(scenario),
            percent_of_ideal: super::ideal::ideal_iops(scenario)
                .filter(|&i| i > 0.0)
                .map(|i| 100.0 * report.iops() / i),
            mib_per_s: per_sec(bytes, over) / MIB,
            paths,
            latency: Latency::of(report),
            submitted: report.submitted,
            completed: report.completed,
            failed_upward: report.failed,
            outstanding: report.outstanding,
            retried: report.retried,
            resets: report.resets,
            faults,
            steps: report.steps,
            trace: format!("{:016x}", report.trace),
            wall_s,
            violation: report.violation.as_ref().map(|v| ViolationSummary {
                invariant: v.invariant.name().to_owned(),
                step: v.step,
                at_us: v.at.as_nanos() / 1_000,
                detail: v.detail.clone(),
                replay,
            }),
        }
    }

    /// The summary as text.
    pub fn text(&self) -> String {
        let mut o = String::new();
        let us = |n: u64| human_duration(Duration::from_micros(n));
        o.push_str(&format!(
            "scenario {} (seed {}): {}, {} path{}, policy {}, no-path {}\n",
            self.scenario,
            self.seed,
            self.transport.to_uppercase(),
            self.paths.len(),
            if self.paths.len() == 1 { "" } else { "s" },
            self.policy,
            self.no_path,
        ));
        o.push_str(&format!(
            "workload: {} outstanding{}, {}% reads, {} I/O, for {} (virtual time covered {})\n\n",
            self.queue_depth,
            if self.cpus > 1 {
                format!(" from {} CPUs", self.cpus)
            } else {
                String::new()
            },
            self.read_percent,
            crate::scenario_file::units::format_size(self.io_bytes),
            us(self.duration_us),
            us(self.elapsed_us),
        ));
        o.push_str(&format!(
            "{:<8} {:>6} {:>12} {:>10} {:>12} {:>8}\n",
            "", "group", "IOPS", "MiB/s", "I/O done", "failed"
        ));
        for p in &self.paths {
            o.push_str(&format!(
                "{:<8} {:>6} {:>12.0} {:>10.1} {:>12} {:>8}\n",
                format!("path {}", p.path),
                p.group,
                p.iops,
                p.mib_per_s,
                p.ios,
                p.failed
            ));
        }
        o.push_str(&format!(
            "{:<8} {:>6} {:>12.0} {:>10.1} {:>12} {:>8}\n\n",
            "total",
            "",
            self.iops,
            self.mib_per_s,
            self.completed,
            self.paths.iter().map(|p| p.failed).sum::<u64>()
        ));
        if let (Some(ideal), Some(pct)) = (self.ideal_iops, self.percent_of_ideal) {
            o.push_str(&format!(
                "throughput: {pct:.1} % of the fabric's ideal ({ideal:.0} IOPS, every path's true latency and capacity known)\n\n"
            ));
        }
        if self.completed == 0 {
            o.push_str("latency: n/a (no I/O completed successfully)\n");
        } else {
            o.push_str(&format!(
                "latency (successful I/O): p50 {}  p99 {}  p99.9 {}  max {}  mean {:.0}us  stddev {:.0}us\n",
                us(self.latency.p50_us),
                us(self.latency.p99_us),
                us(self.latency.p999_us),
                us(self.latency.max_us),
                self.latency.mean_us,
                self.latency.stddev_us,
            ));
        }
        o.push_str(&format!(
            "I/O: submitted {}, completed {}, failed upward {}, outstanding {}; retried (failed over) {}, resets {}\n",
            self.submitted, self.completed, self.failed_upward, self.outstanding, self.retried, self.resets
        ));
        if !self.faults.is_empty() {
            o.push_str("faults:\n");
            for f in &self.faults {
                let resumed = f.resumed_after_us.map_or_else(
                    || String::from("no I/O completed after it"),
                    |r| format!("I/O completed again after {}", us(r)),
                );
                o.push_str(&format!(
                    "  {:>9}  {:<48} {resumed}\n",
                    format_duration(Duration::from_micros(f.at_us)),
                    f.fault
                ));
            }
        }
        o.push_str(&format!(
            "engine: {} steps, trace {}, {:.2} s wall\n",
            self.steps, self.trace, self.wall_s
        ));
        match &self.violation {
            None => o.push_str("invariants: all held\n"),
            Some(v) => o.push_str(&format!(
                "INVARIANT BROKEN: {} at step {} (t={} us): {}\n  replay: {}\n  trace:  MPATH_SIM_TRACE=1 {}\n",
                v.invariant, v.step, v.at_us, v.detail, v.replay, v.replay
            )),
        }
        o
    }
}
