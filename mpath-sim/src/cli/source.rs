//! Where a SCENARIO argument comes from: a built-in's name, or a TOML
//! file. A name that is neither says so and lists the built-ins.

use std::path::Path;

use crate::builtin;
use crate::engine::Scenario;
use crate::scenario_file;

use super::{CliError, Overrides};

/// The scenario `arg` names.
pub fn load(arg: &str) -> Result<Scenario, CliError> {
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
pub fn load_with(arg: &str, o: &Overrides) -> Result<Scenario, CliError> {
    let mut s = load(arg)?;
    if let Some(d) = o.duration {
        s.duration = d;
    }
    Ok(s)
}
