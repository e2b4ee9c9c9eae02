//! The `mpath-sim` command line: run a scenario (built-in or TOML file)
//! and summarise it, compare the path selectors on it, draw its topology,
//! print it as a file, sweep random scenarios by seed and replay one.
//!
//! One file per subcommand; [`args`] is the clap grammar, [`source`]
//! resolves a SCENARIO argument, [`summary`] is a run's numbers (text or
//! JSON), [`progress`] the progress bars, [`plot_timeline`] and
//! [`plot_compare`] the SVG pictures, [`live_topology`] the device's
//! `multipath -ll` view during a run, [`dm_view`] dm's status lines.
//!
//! Exit codes: 0 success; 1 an invariant broke (or a sweep seed failed);
//! 2 a usage error, a bad scenario file or an unknown name (clap uses 2
//! for its own errors too); 3 an internal error.

pub mod args;
pub mod compare;
pub mod dm_view;
pub mod ideal;
pub mod json;
pub mod live_topology;
pub mod plot_compare;
pub mod plot_timeline;
pub mod progress;
pub mod replay;
pub mod run;
pub mod source;
pub mod summary;
pub mod sweep;
pub mod topology;

use std::fmt;
use std::process::ExitCode;

use clap::Parser;

pub use args::{Cli, Command, CompareArgs, Overrides, ReplayArgs, RunArgs, ScenarioArg, SweepArgs};

use crate::builtin::BUILTINS;
use crate::scenario_file::to_toml;

/// An error for the user, and the exit code it ends the process with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliError {
    /// What went wrong, naming the argument, file, line or key.
    pub message: String,
    /// The exit code.
    pub code: u8,
}

impl CliError {
    /// The user asked for something that cannot be (exit code 2).
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 2,
        }
    }

    /// Our own failure (exit code 3).
    pub fn internal(message: impl Into<String>) -> CliError {
        CliError {
            message: message.into(),
            code: 3,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// Write an SVG document to `path`; an error names the file.
pub fn write_svg(path: &std::path::Path, svg: &str) -> Result<(), CliError> {
    std::fs::write(path, svg)
        .map_err(|e| CliError::usage(format!("cannot write the SVG to {}: {e}", path.display())))
}

/// Run the command line `cli`.
pub fn dispatch(cli: &Cli) -> Result<ExitCode, CliError> {
    match &cli.command {
        Command::Run(a) => run::run(a),
        Command::Compare(a) => compare::compare(a),
        Command::Topology(a) => topology::topology(a),
        Command::Show(a) => {
            print!("{}", to_toml(&source::load(a)?));
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            for b in BUILTINS {
                println!("{:<18} {}", b.name, b.about);
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Sweep(a) => sweep::sweep(a),
        Command::Replay(a) => replay::replay(a),
    }
}

/// The binary's `main`: parse the arguments (clap prints its own errors
/// and exits 2), run, print an error with what it names.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(&cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("mpath-sim: {e}");
            ExitCode::from(e.code)
        }
    }
}
