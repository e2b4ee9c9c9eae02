//! Where a SCENARIO argument comes from: a built-in's name, or a TOML
//! file. A name that is neither says so and lists the built-ins.

use std::path::Path;

use crate::builtin;
use crate::engine::Scenario;
use crate::scenario_file;

use super::{CliError, Overrides, ScenarioArg};

/// The scenario `a` names, with its `--dm-table` if given (the flag
/// replaces a table the file has).
pub fn load(a: &ScenarioArg) -> Result<Scenario, CliError> {
    let mut s = load_name(&a.scenario)?;
    if let Some(line) = &a.dm_table {
        s.set_dm_table(line)
            .map_err(|e| CliError::usage(format!("--dm-table: {e}")))?;
    }
    Ok(s)
}

/// The scenario `arg` names.
fn load_name(arg: &str) -> Result<Scenario, CliError> {
    if let Some(s) = builtin::by_name(arg) {
        return Ok(s);
    }
    let path = Path::new(arg);
    if path.exists() || arg.ends_with(".toml") {
        return scenario_file::load(path).map_err(|e| CliError::usage(e.to_string()));
    }
    Err(CliError::usage(format!(
        "unknown scenario `{arg}`: not a built-in ({}) and no such file",
        builtin::names().join(", ")
    )))
}

/// The scenario with the command line's changes.
pub fn load_with(a: &ScenarioArg, o: &Overrides) -> Result<Scenario, CliError> {
    let mut s = load(a)?;
    if let Some(d) = o.duration {
        s.duration = d;
    }
    if let Some(n) = o.cpus {
        s.workload.cpus = n;
    }
    Ok(s)
}
