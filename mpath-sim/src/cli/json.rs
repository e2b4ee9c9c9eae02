//! JSON output: one value, pretty-printed, on standard output.

use serde::Serialize;

use super::CliError;

/// Print `v` as JSON.
pub fn print<T: Serialize>(v: &T) -> Result<(), CliError> {
    let s = serde_json::to_string_pretty(v)
        .map_err(|e| CliError::internal(format!("JSON output: {e}")))?;
    println!("{s}");
    Ok(())
}
