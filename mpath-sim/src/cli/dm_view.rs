//! dm's view of a scenario with a dm table: the lines `dmsetup table`
//! and `dmsetup status` would print for the host's device, read from the
//! live device (`DmTarget::table_status`, `DmTarget::info_status`), not
//! from the scenario: once the device has a path in use, then after each
//! fault once the transport's detection time has passed (as `replay`
//! draws its maps), so a path's `F` and fail count show what the host
//! has learnt.
//!
//! The run is the scenario's own with seed 1 (`mpath-sim run`'s
//! default), cut with `Sim::run_until`, which does not change it; it
//! stops after the last look.

use mpath_core::{Duration, Instant};

use crate::engine::{Scenario, Sim};
use crate::scenario_file::describe_fault;
use crate::scenario_file::units::human_duration;

use super::replay::map_times;
use super::run::setup;
use super::CliError;

/// How far apart the first look checks for a path in use.
const SETTLE_STEP: Duration = Duration::from_millis(1);

/// `<name>: 0 <sectors> multipath <params>`, as dmsetup prints a line.
fn dm_line(s: &Scenario, params: &str) -> String {
    format!(
        "{}: 0 {} multipath {params}",
        s.name,
        super::topology::device_bytes(s) / 512
    )
}

fn look(sim: &mut Sim, o: &mut String) {
    let s = sim.scenario().clone();
    if let Some((info, table)) = sim.dm_status() {
        o.push_str(&format!("  table:  {}\n", dm_line(&s, &table)));
        o.push_str(&format!("  status: {}\n", dm_line(&s, &info)));
    }
}

/// The dm view of `s`, or nothing without a dm table.
pub fn render(s: &Scenario) -> Result<String, CliError> {
    if s.dm_table.is_none() {
        return Ok(String::new());
    }
    let mut sim = setup(s.clone(), 1)?;
    let mut o = String::from("dm (dmsetup table / status of the live device, seed 1):\n");
    // The first look once a path carries I/O: the device learns its
    // groups' access states from the target first.
    let first_fault = s.faults.first().map_or(s.duration, |f| f.0);
    let mut t = Duration::ZERO;
    loop {
        t = t.saturating_add(SETTLE_STEP);
        let going = sim.run_until(Some(Instant::from_nanos(t.as_nanos())));
        let in_use = sim.device().controller().device_snapshot().selectable > 0;
        if in_use || !going || t >= first_fault {
            break;
        }
    }
    o.push_str(&format!("at {} (a path in use):\n", human_duration(t)));
    look(&mut sim, &mut o);
    for (when, covered) in map_times(&s.faults, s.detect) {
        if when <= t {
            continue;
        }
        if !sim.run_until(Some(Instant::from_nanos(when.as_nanos()))) {
            break;
        }
        let what: Vec<String> = covered
            .iter()
            .filter_map(|&i| s.faults.get(i))
            .map(|&(at, f)| format!("{} at {}", describe_fault(f), human_duration(at)))
            .collect();
        o.push_str(&format!(
            "at {} ({} after {}):\n",
            human_duration(when),
            human_duration(s.detect),
            what.join(", ")
        ));
        look(&mut sim, &mut o);
    }
    Ok(o)
}
