//! The command line, as clap parses it. Values with units and names are
//! parsed here by the same functions scenario files use, so
//! `--duration 500ms` and `duration = "500ms"` mean the same, and clap's
//! error names the flag.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mpath_core::{Duration, Policy};

use crate::engine::sweep::Mode;
use crate::scenario_file::names::parse_policy;
use crate::scenario_file::units::parse_duration;

/// mpath-sim: run the mpath multipath core against simulated SCSI arrays
/// and NVMe subsystems, in virtual time, with faults, checking invariants.
#[derive(Debug, Parser)]
#[command(name = "mpath-sim", version, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario and summarise it: IOPS, MiB/s, latency, failovers,
    /// time to resume after each fault, invariants.
    Run(RunArgs),
    /// Every path selector on the same scenario and seed, side by side.
    Compare(CompareArgs),
    /// Print a scenario's topology the way `multipath -ll` shows a map.
    Topology(ScenarioArg),
    /// Print a scenario as a TOML file (a built-in, to edit and run).
    Show(ScenarioArg),
    /// List the built-in scenarios.
    List,
    /// The DST sweep: random scenarios by seed, every invariant checked.
    Sweep(SweepArgs),
    /// Run one sweep seed again: its scenario, the topology as the host
    /// sees it after each fault, and the result.
    Replay(ReplayArgs),
}

/// A scenario: a built-in's name or a TOML file.
#[derive(Debug, Args)]
pub struct ScenarioArg {
    /// A built-in scenario's name (`mpath-sim list`) or a .toml file.
    #[arg(value_name = "SCENARIO")]
    pub scenario: String,
    /// Configure the device with this dm-multipath table line instead of
    /// the scenario's selector, no-path policy and weights (the target's
    /// parameters, e.g. "1 queue_if_no_path 1 alua 1 1 service-time 0 2
    /// 2 8:0 1 100 8:16 1 1", or a whole `dmsetup table` line). Paths are
    /// named as `topology` prints them (8:0 or sda for path 0, 8:16 or
    /// sdb for path 1; NVMe nvme0c0n1); every path is listed once, and
    /// each priority group is one port group of the scenario.
    #[arg(long, value_name = "LINE")]
    pub dm_table: Option<String>,
}

/// What `run` and `compare` may change in a scenario.
#[derive(Debug, Args)]
pub struct Overrides {
    /// The workload's duration instead of the scenario's (e.g. 200ms);
    /// faults after it still fire during the drain.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// CPUs the workload submits from, each with its own cursor on the
    /// data plane (1 to 64; the scenario's, 1 unless it says, otherwise).
    /// With more than one, the counting selectors see each other CPU's
    /// load as published (within `PUBLISH_IOS` per CPU and path).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=i64::from(crate::engine::MAX_CPUS)))]
    pub cpus: Option<u32>,
}

/// `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The scenario.
    #[command(flatten)]
    pub scenario: ScenarioArg,
    /// The seed: the same scenario and seed give the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The path selector instead of the scenario's (round-robin,
    /// queue-depth, service-time, adaptive, ...). With a dm table it
    /// replaces the table's selector (as each of compare's rows does);
    /// the rest stays the table's.
    #[arg(long, value_name = "POLICY", value_parser = parse_policy)]
    pub policy: Option<Policy>,
    /// Changes to the scenario.
    #[command(flatten)]
    pub overrides: Overrides,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress display, however long the run.
    #[arg(long)]
    pub no_progress: bool,
    /// Also draw per-path throughput and latency over virtual time, the
    /// faults marked, as an SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

/// `compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The scenario.
    #[command(flatten)]
    pub scenario: ScenarioArg,
    /// The seed, the same for every selector. With a dm table each row
    /// runs the table with its own selector in place of the table's.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Changes to the scenario.
    #[command(flatten)]
    pub overrides: Overrides,
    /// Print the table as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress display.
    #[arg(long)]
    pub no_progress: bool,
    /// Also draw each selector's throughput as % of ideal, p99 latency
    /// and I/O failed upward as bar charts in an SVG file.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    Mode::parse(s).ok_or_else(|| format!("`{s}` is neither safety nor liveness"))
}

/// `sweep`.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// safety (faults may stay, invariants hold) or liveness (faults heal,
    /// every I/O completes too).
    #[arg(long, default_value = "safety", value_parser = parse_mode)]
    pub mode: Mode,
    /// The first seed.
    #[arg(long, default_value_t = 0)]
    pub from: u64,
    /// How many seeds.
    #[arg(long, default_value_t = 1000)]
    pub count: u64,
    /// Threads (default: one per CPU).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
    /// No progress bar.
    #[arg(long)]
    pub no_progress: bool,
}

/// `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The sweep seed.
    pub seed: u64,
    /// The sweep mode the seed failed in.
    #[arg(long, default_value = "safety", value_parser = parse_mode)]
    pub mode: Mode,
    /// Print every engine event and device action as it happens (the
    /// engine's MPATH_SIM_TRACE), on standard error.
    #[arg(long)]
    pub trace: bool,
    /// Print the result as JSON (after the scenario as TOML).
    #[arg(long)]
    pub json: bool,
}
