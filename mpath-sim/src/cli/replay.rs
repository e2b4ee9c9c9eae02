//! `mpath-sim replay`: one sweep seed again. Prints the scenario the seed
//! stands for (as a TOML file, so it can be saved, edited and run with
//! `mpath-sim run`), then runs it with the same seed (the sweep's own
//! run: the same trace, however the run is cut) and, after each fault,
//! the host's map the way `multipath -ll` shows it, from the live device
//! ([`live_topology`](super::live_topology)); then the result.
//! `--trace` turns on the engine's step-by-step trace (`MPATH_SIM_TRACE`)
//! on standard error.
//!
//! The map is drawn once the transport's detection time
//! ([`Scenario::detect`](crate::engine::Scenario)) has passed after the
//! fault, so a link failure shows as the host has learnt it, not only
//! as the fabric has it; faults closer together than that share a map.

use std::process::ExitCode;
use std::time::Instant as WallInstant;

use mpath_core::{Duration, Instant};

use crate::engine::sweep::random_scenario;
use crate::scenario_file::describe_fault;
use crate::scenario_file::to_toml;
use crate::scenario_file::units::human_duration;

use super::live_topology::{heading, render};
use super::run::setup;
use super::summary::RunSummary;
use super::sweep::replay_command;
use super::{json, CliError, ReplayArgs};

/// When to draw the maps of `faults` (time order) with detection time
/// `detect`: `detect` after a fault, and before the next fault that is
/// further away than that; each with the faults it covers.
pub fn map_times(
    faults: &[(Duration, crate::engine::Fault)],
    detect: Duration,
) -> Vec<(Duration, Vec<usize>)> {
    let mut out: Vec<(Duration, Vec<usize>)> = Vec::new();
    for (i, &(at, _)) in faults.iter().enumerate() {
        match out.last_mut() {
            Some((when, covered)) if at <= *when => covered.push(i),
            _ => out.push((at.saturating_add(detect), vec![i])),
        }
    }
    out
}

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
    let t = WallInstant::now();
    let mut sim = setup(scenario.clone(), a.seed)?;
    let mut maps = String::new();
    for (when, covered) in map_times(&scenario.faults, scenario.detect) {
        if !sim.run_until(Some(Instant::from_nanos(when.as_nanos()))) {
            break;
        }
        let what: Vec<String> = covered
            .iter()
            .filter_map(|&i| scenario.faults.get(i))
            .map(|&(at, f)| format!("{} at {}", describe_fault(f), human_duration(at)))
            .collect();
        maps.push_str(&heading(
            when,
            &format!(
                "{} later than {}",
                human_duration(scenario.detect),
                what.join(", ")
            ),
        ));
        maps.push_str(&render(&sim));
    }
    while sim.run_until(None) {}
    let report = sim.finish();
    let wall = t.elapsed().as_secs_f64();
    let summary = RunSummary::new(&scenario, &report, wall, replay_command(a.seed, a.mode));
    if a.json {
        json::print(&summary)?;
    } else {
        if !maps.is_empty() {
            println!("the host's map after each fault (multipath -ll, from the live device):");
            print!("{maps}");
            println!();
        }
        print!("{}", summary.text());
    }
    Ok(if summary.violation.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Fault;

    #[test]
    fn faults_within_the_detection_time_share_a_map() {
        let ms = Duration::from_millis;
        let f = |t| (ms(t), Fault::LinkDown { path: 0 });
        let m = map_times(&[f(100), f(103), f(200)], ms(5));
        assert_eq!(m, vec![(ms(105), vec![0, 1]), (ms(205), vec![2])]);
        assert!(map_times(&[], ms(5)).is_empty());
    }
}
