//! The DST sweep from the command line, and replay of one seed.
//!
//! ```text
//! cargo run --release -p mpath-sim --example sweep -- [--mode safety|liveness] [--from N] [--count N]
//! cargo run --release -p mpath-sim --example sweep -- --mode liveness --replay SEED
//! ```

use std::process::ExitCode;
use std::time::Instant;

use mpath_sim::engine::sweep::{random_scenario, run_seed, sweep, Mode};

fn main() -> ExitCode {
    let mut mode = Mode::Safety;
    let (mut from, mut count, mut replay) = (0u64, 1000u64, None);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut value = |what: &str| -> Result<String, String> {
            it.next()
                .cloned()
                .ok_or_else(|| format!("{a}: missing {what}"))
        };
        let number = |v: String| {
            v.parse::<u64>()
                .map_err(|_| format!("{a}: `{v}` is not a number"))
        };
        let r = match a.as_str() {
            "--mode" => value("safety or liveness").and_then(|v| {
                Mode::parse(&v)
                    .map(|m| mode = m)
                    .ok_or_else(|| format!("--mode: `{v}` is neither safety nor liveness"))
            }),
            "--from" => value("a seed").and_then(number).map(|n| from = n),
            "--count" => value("a count").and_then(number).map(|n| count = n),
            "--replay" => value("a seed").and_then(number).map(|n| replay = Some(n)),
            other => Err(format!("unknown argument `{other}`")),
        };
        if let Err(e) = r {
            eprintln!("sweep: {e}");
            return ExitCode::from(2);
        }
    }
    if let Some(seed) = replay {
        println!("{:#?}", random_scenario(seed, mode));
        return match run_seed(seed, mode) {
            Ok(r) => {
                println!(
                    "trace {:016x}, {} steps, submitted {}, completed {}, failed {}, outstanding {}",
                    r.trace, r.steps, r.submitted, r.completed, r.failed, r.outstanding
                );
                match r.violation {
                    Some(v) => {
                        println!("{v}");
                        ExitCode::FAILURE
                    }
                    None => ExitCode::SUCCESS,
                }
            }
            Err(e) => {
                println!("setup: {e}");
                ExitCode::FAILURE
            }
        };
    }
    let t = Instant::now();
    let s = sweep(from, count, mode);
    let wall = t.elapsed().as_secs_f64();
    println!(
        "{} sweep: seeds {from}..{}: {} runs, {} failed; {} I/O simulated in {:.1} s ({:.0} I/O per wall second, {:.0} steps per second)",
        mode,
        from + count,
        s.runs,
        s.failures.len(),
        s.completed,
        wall,
        s.completed as f64 / wall,
        s.steps as f64 / wall
    );
    for f in &s.failures {
        println!("{f}");
    }
    if s.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
