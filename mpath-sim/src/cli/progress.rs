//! Progress bars. A run's bar is driven by virtual time: the run is cut
//! into a hundred pieces of the workload's duration with
//! [`Sim::run_until`] (the same events happen however a run is cut, so the
//! trace is the plain run's) and the bar is set after each. The sweep's
//! bar counts seeds.
//!
//! Drawn on standard error, only when it is a terminal and only once the
//! work has taken a second of wall time: a short run prints nothing but
//! its result, and output piped to a file has no bar in it.

use std::io::IsTerminal;
use std::time::{Duration as WallDuration, Instant as WallInstant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use mpath_core::Instant;

use crate::engine::{Report, Sim};

/// How long work runs before its bar appears.
const QUIET_FOR: WallDuration = WallDuration::from_secs(1);

/// Pieces a run's workload is cut into, one bar step each.
pub const PIECES: u64 = 100;

/// A bar that stays hidden for its first second of wall time, and for
/// good when `show` is off or standard error is not a terminal.
#[derive(Debug)]
pub struct LateBar {
    bar: ProgressBar,
    started: WallInstant,
    /// Still waiting to be shown.
    pending: bool,
}

impl LateBar {
    /// A bar over `len` steps, labelled `what`.
    pub fn new(len: u64, what: &str, show: bool) -> LateBar {
        let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template(
            "{msg} [{bar:40}] {percent:>3}% of virtual time, {elapsed}",
        ) {
            bar.set_style(style.progress_chars("=> "));
        }
        bar.set_message(what.to_owned());
        LateBar {
            bar,
            started: WallInstant::now(),
            pending: show && std::io::stderr().is_terminal(),
        }
    }

    /// Move to step `pos`, showing the bar if a second has passed.
    pub fn set(&mut self, pos: u64) {
        if self.pending && self.started.elapsed() >= QUIET_FOR {
            self.pending = false;
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
        self.bar.set_position(pos);
    }

    /// A new label.
    pub fn message(&self, what: &str) {
        self.bar.set_message(what.to_owned());
    }

    /// Take the bar off the screen.
    pub fn clear(&self) {
        self.bar.finish_and_clear();
    }
}

/// Run `sim` to its end in [`PIECES`] pieces of the workload's duration,
/// then the drain in one; `each(k)` after piece `k` (1 to [`PIECES`]; the
/// drain counts as the last). The report is the one [`Sim::run`] gives.
pub fn run_in_pieces(mut sim: Sim, mut each: impl FnMut(u64)) -> Report {
    let duration = sim.scenario().duration.as_nanos();
    let piece = (duration / PIECES).max(1);
    for k in 1..=PIECES {
        let until = Instant::from_nanos(piece.saturating_mul(k));
        if !sim.run_until(Some(until)) {
            break;
        }
        each(k.min(PIECES - 1));
    }
    while sim.run_until(None) {}
    each(PIECES);
    sim.finish()
}

/// Run `sim` with a bar labelled `what` (see the module docs).
pub fn run_with_bar(sim: Sim, what: &str, show: bool) -> Report {
    let mut bar = LateBar::new(PIECES, what, show);
    let report = run_in_pieces(sim, |k| bar.set(k));
    bar.clear();
    report
}

/// A bar over `len` seeds, hidden when `show` is off.
pub fn bar(len: u64, show: bool, what: &str) -> ProgressBar {
    if !show {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} seeds, {per_sec}, eta {eta}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb.set_message(what.to_owned());
    pb
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Scenario;

    #[test]
    fn a_run_in_pieces_is_the_plain_run() {
        let mut s = Scenario::two_nvme_paths();
        s.duration = mpath_core::Duration::from_millis(30);
        s.faults = vec![(
            mpath_core::Duration::from_millis(10),
            crate::engine::Fault::LinkDown { path: 1 },
        )];
        let plain = Sim::new(s.clone(), 3).unwrap().run();
        let mut seen = Vec::new();
        let cut = run_in_pieces(Sim::new(s, 3).unwrap(), |k| seen.push(k));
        assert_eq!(cut.trace, plain.trace);
        assert_eq!(cut.steps, plain.steps);
        assert_eq!(cut.completed, plain.completed);
        // Every piece reported once, in order, ending at the whole.
        assert_eq!(seen.len() as u64, PIECES + 1);
        assert!(seen.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(seen.last(), Some(&PIECES));
    }
}
