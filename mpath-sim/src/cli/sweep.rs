//! `mpath-sim sweep`: the DST sweep ([`crate::engine::sweep`]) over a
//! range of seeds, on every CPU, with a progress bar. A failing seed is
//! printed with the command that replays it.

use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant as WallInstant;

use serde::Serialize;

use crate::engine::sweep::{sweep as sweep_seeds, Failure, Mode, Sweep};

use super::{json, progress, CliError, SweepArgs};

/// The command that replays seed `seed` of `mode`.
pub fn replay_command(seed: u64, mode: Mode) -> String {
    format!("mpath-sim replay {seed} --mode {mode}")
}

/// A failing seed, for JSON.
#[derive(Clone, Debug, Serialize)]
struct FailureOut {
    seed: u64,
    detail: String,
    replay: String,
}

/// The sweep's outcome, for JSON.
#[derive(Clone, Debug, Serialize)]
struct SweepOut {
    mode: String,
    from: u64,
    count: u64,
    runs: u64,
    completed: u64,
    steps: u64,
    wall_s: f64,
    failures: Vec<FailureOut>,
}

/// Seeds `from..from + count` of `mode` over `jobs` threads; `tick` after
/// each seed. The same result as one [`sweep_seeds`] over the range,
/// failures in seed order.
pub fn run_parallel(
    from: u64,
    count: u64,
    mode: Mode,
    jobs: usize,
    tick: &(dyn Fn() + Sync),
) -> Sweep {
    let next = AtomicU64::new(0);
    let total = Mutex::new(Sweep::default());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                let mut mine = Sweep::default();
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    if k >= count {
                        break;
                    }
                    let one = sweep_seeds(from.saturating_add(k), 1, mode);
                    mine.runs += one.runs;
                    mine.completed += one.completed;
                    mine.steps += one.steps;
                    mine.failures.extend(one.failures);
                    tick();
                }
                // A poisoned lock means another worker panicked; that
                // panic is the one to report, and scope re-raises it.
                if let Ok(mut t) = total.lock() {
                    t.runs += mine.runs;
                    t.completed += mine.completed;
                    t.steps += mine.steps;
                    t.failures.extend(mine.failures);
                }
            });
        }
    });
    let mut s = total.into_inner().unwrap_or_default();
    s.failures.sort_by_key(|f: &Failure| f.seed);
    s
}

/// `sweep`.
pub fn sweep(a: &SweepArgs) -> Result<ExitCode, CliError> {
    let jobs = a
        .jobs
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    if jobs == 0 {
        return Err(CliError::usage("--jobs: at least 1"));
    }
    let bar = progress::bar(
        a.count,
        !a.no_progress && !a.json,
        &format!("{} sweep", a.mode),
    );
    let t = WallInstant::now();
    let s = run_parallel(a.from, a.count, a.mode, jobs, &|| bar.inc(1));
    bar.finish_and_clear();
    let wall = t.elapsed().as_secs_f64();
    let out = SweepOut {
        mode: a.mode.name().to_owned(),
        from: a.from,
        count: a.count,
        runs: s.runs,
        completed: s.completed,
        steps: s.steps,
        wall_s: wall,
        failures: s
            .failures
            .iter()
            .map(|f| FailureOut {
                seed: f.seed,
                detail: f.detail.clone(),
                replay: replay_command(f.seed, f.mode),
            })
            .collect(),
    };
    if a.json {
        json::print(&out)?;
    } else {
        let per = |n: u64| if wall > 0.0 { n as f64 / wall } else { 0.0 };
        println!(
            "{} sweep: seeds {}..{}: {} runs, {} failed; {} I/O simulated in {wall:.1} s ({:.0} I/O and {:.0} steps per wall second, {jobs} thread{})",
            a.mode,
            a.from,
            a.from.saturating_add(a.count),
            s.runs,
            s.failures.len(),
            s.completed,
            per(s.completed),
            per(s.steps),
            if jobs == 1 { "" } else { "s" }
        );
        for f in &out.failures {
            println!(
                "seed {} ({}): {}\n  replay: {}",
                f.seed, a.mode, f.detail, f.replay
            );
        }
    }
    Ok(if s.failures.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parallel_sweep_finds_what_a_serial_one_does() {
        let serial = sweep_seeds(20, 8, Mode::Safety);
        let parallel = run_parallel(20, 8, Mode::Safety, 3, &|| {});
        assert_eq!(serial, parallel);
    }

    #[test]
    fn the_replay_command_is_this_binary_s() {
        assert_eq!(
            replay_command(77, Mode::Liveness),
            "mpath-sim replay 77 --mode liveness"
        );
    }
}
