//! The `mpath-sim` command line; everything is in [`mpath_sim::cli`].

fn main() -> std::process::ExitCode {
    mpath_sim::cli::main()
}
