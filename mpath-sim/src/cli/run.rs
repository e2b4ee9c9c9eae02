//! `mpath-sim run`: one scenario, one seed, summarised.

use std::process::ExitCode;
use std::time::Instant as WallInstant;

use crate::engine::{Report, Scenario, Sim};
use crate::scenario_file::units::format_duration;

use super::plot_timeline::timeline_svg;
use super::summary::RunSummary;
use super::{json, progress, source, write_svg, CliError, RunArgs};

/// Set up `scenario` with `seed`; a scenario the engine refuses is the
/// user's error.
pub fn setup(scenario: Scenario, seed: u64) -> Result<Sim, CliError> {
    Sim::new(scenario, seed).map_err(|e| CliError::usage(format!("scenario: {e}")))
}

/// Run `scenario` with `seed`, with a progress bar in virtual time if it
/// takes a while (and `show`); the report and the wall time it took.
pub fn run_timed(scenario: Scenario, seed: u64, show: bool) -> Result<(Report, f64), CliError> {
    let what = format!(
        "{}, {} virtual",
        scenario.name,
        format_duration(scenario.duration)
    );
    let sim = setup(scenario, seed)?;
    let t = WallInstant::now();
    let report = progress::run_with_bar(sim, &what, show);
    Ok((report, t.elapsed().as_secs_f64()))
}

/// The command that runs this again, as the user asked for it.
fn replay_command(a: &RunArgs) -> String {
    let mut c = format!("mpath-sim run {} --seed {}", a.scenario.scenario, a.seed);
    if let Some(p) = a.policy {
        c.push_str(&format!(" --policy {}", p.name()));
    }
    if let Some(d) = a.overrides.duration {
        c.push_str(&format!(" --duration {}", format_duration(d)));
    }
    if let Some(n) = a.overrides.cpus {
        c.push_str(&format!(" --cpus {n}"));
    }
    if let Some(t) = &a.scenario.dm_table {
        c.push_str(&format!(" --dm-table '{t}'"));
    }
    c
}

/// `run`.
pub fn run(a: &RunArgs) -> Result<ExitCode, CliError> {
    let mut scenario = source::load_with(&a.scenario, &a.overrides)?;
    if let Some(p) = a.policy {
        // After the table: with one, this replaces only its selector, as
        // each of compare's rows does, so a row's replay command runs
        // what the row ran.
        scenario.policy = p;
    }
    let (report, wall) = run_timed(scenario.clone(), a.seed, !a.no_progress && !a.json)?;
    let summary = RunSummary::new(&scenario, &report, wall, replay_command(a));
    if a.json {
        json::print(&summary)?;
    } else {
        print!("{}", summary.text());
    }
    // After the summary, so a picture that cannot be written costs the
    // user only the picture.
    if let Some(path) = &a.svg {
        write_svg(path, &timeline_svg(&scenario, &report)?)?;
    }
    Ok(if summary.violation.is_some() {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}
