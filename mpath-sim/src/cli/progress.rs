//! Progress for work the engine gives no progress hook for: the work runs
//! on a thread of its own and, if it has not finished within a second of
//! wall time, a spinner on standard error shows that it is alive and how
//! long it has taken. Runs shorter than that draw nothing, and nothing is
//! drawn when standard error is not a terminal (indicatif hides it).

use std::sync::mpsc;
use std::time::Duration as WallDuration;

use indicatif::{ProgressBar, ProgressStyle};

/// How long work runs before a spinner appears.
const QUIET_FOR: WallDuration = WallDuration::from_secs(1);

/// Run `work` on its own thread; show `what` with a spinner if it takes
/// longer than a second and `show` is set.
pub fn with_spinner<T: Send + 'static>(
    what: String,
    show: bool,
    work: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = std::thread::spawn(move || {
        let out = work();
        // The receiver only goes away if the caller panicked.
        let _ = tx.send(());
        out
    });
    let spinner = match rx.recv_timeout(QUIET_FOR) {
        Err(mpsc::RecvTimeoutError::Timeout) if show => {
            let pb = ProgressBar::new_spinner().with_elapsed(QUIET_FOR);
            if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} [{elapsed}]") {
                pb.set_style(style);
            }
            pb.set_message(what);
            pb.enable_steady_tick(WallDuration::from_millis(100));
            let _ = rx.recv();
            Some(pb)
        }
        _ => None,
    };
    if let Some(pb) = spinner {
        pb.finish_and_clear();
    }
    match handle.join() {
        Ok(v) => v,
        // The engine panicked: let the panic be the process's.
        Err(p) => std::panic::resume_unwind(p),
    }
}

/// A bar over `len` steps, hidden when `show` is off.
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
