//! `mpath-sim replay`: one sweep seed again. Prints the scenario the seed
//! stands for (as a TOML file, so it can be saved, edited and run with
//! `mpath-sim run`), then runs it with the same seed (the sweep's own
//! run: the same trace) and prints the result. `--trace` turns on the
//! engine's step-by-step trace (`MPATH_SIM_TRACE`) on standard error.

use std::process::ExitCode;

use crate::engine::sweep::random_scenario;
use crate::scenario_file::to_toml;

use super::run::run_timed;
use super::summary::RunSummary;
use super::sweep::replay_command;
use super::{json, CliError, ReplayArgs};

/// `replay`.
pub fn replay(a: &ReplayArgs) -> Result<ExitCode, CliError> {
    if a.trace {
        // The engine reads this when a run is set up; no thread of ours
        // runs yet that could read the environment at the same time.
        std::env::set_var("MPATH_SIM_TRACE", "1");
    }
    let scenario = random_scenario(a.seed, a.mode);
    print!("{}", to_toml(&scenario));
    println!();
    let (report, wall) = run_timed(scenario.clone(), a.seed, !a.json && !a.trace)?;
    let summary = RunSummary::new(&scenario, &report, wall, replay_command(a.seed, a.mode));
    if a.json {
        json::print(&summary)?;
    } else {
        print!("{}", summary.text());
    }
    Ok(if summary.violation.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
