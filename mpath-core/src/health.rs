//! Path health: probe scheduling, marginal-path detection, flap damping.
//!
//! Each is a small state machine owned by one path's control-plane record,
//! driven by the controller with the current time, exposing the next instant
//! it needs to be woken at.

use crate::config::{FlapConfig, MarginalConfig, ProbeConfig};
use crate::time::{Duration, Instant};

/// When a path is probed next (multipathd's checker loop, per path).
///
/// The interval doubles while probes keep finding the path up, up to the
/// maximum, and drops back to the minimum on any change, so a stable path
/// costs little and a changing one is watched closely.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct ProbeSchedule {
    pub(crate) interval: Duration,
    /// When the next probe is due; `None` while one is wanted or in flight.
    pub(crate) next_at: Option<Instant>,
    /// Due and not yet handed out by `poll_action`.
    pub(crate) wanted: bool,
    /// A probe is in flight and counts as failed after this.
    pub(crate) deadline: Option<Instant>,
}

impl ProbeSchedule {
    pub(crate) fn new(now: Instant, cfg: &ProbeConfig) -> Self {
        ProbeSchedule {
            interval: cfg.min_interval,
            next_at: Some(now.saturating_add(cfg.min_interval)),
            wanted: false,
            deadline: None,
        }
    }

    /// Ask for a probe as soon as possible (after an I/O error, a reinstate).
    pub(crate) fn expedite(&mut self, cfg: &ProbeConfig) {
        self.interval = cfg.min_interval;
        if self.deadline.is_none() {
            self.next_at = None;
            self.wanted = true;
        }
    }

    /// The probe was handed to the transport.
    pub(crate) fn sent(&mut self, now: Instant, cfg: &ProbeConfig) {
        self.wanted = false;
        self.next_at = None;
        self.deadline = Some(now.saturating_add(cfg.timeout));
    }

    /// A result arrived; `steady` when it found the path up and unchanged.
    pub(crate) fn done(&mut self, now: Instant, steady: bool, cfg: &ProbeConfig) {
        self.deadline = None;
        self.wanted = false;
        self.interval = if steady {
            self.interval.saturating_mul(2).min(cfg.max_interval)
        } else {
            cfg.min_interval
        };
        self.next_at = Some(now.saturating_add(self.interval));
    }

    /// Probe again after a short delay (checker said retry).
    pub(crate) fn retry(&mut self, now: Instant, cfg: &ProbeConfig) {
        self.deadline = None;
        self.wanted = false;
        self.next_at = Some(now.saturating_add(cfg.retry_delay));
    }

    /// Timer work: returns true when an in-flight probe timed out.
    pub(crate) fn on_timer(&mut self, now: Instant) -> bool {
        if self.next_at.is_some_and(|t| t <= now) {
            self.next_at = None;
            self.wanted = true;
        }
        if self.deadline.is_some_and(|t| t <= now) {
            self.deadline = None;
            return true;
        }
        false
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        earliest(self.next_at, self.deadline)
    }
}

/// The earlier of two optional instants.
pub(crate) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// Marginal-path detection, after multipath-tools' `marginal_path_*`:
/// a path that passes its probes but keeps failing I/O.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MarginalState {
    /// Healthy; remembers the last path error for the double-failure trigger.
    Healthy { last_error: Option<Instant> },
    /// Measuring the error rate until `until`.
    Sampling { until: Instant, errors: u32 },
    /// Marginal. `recheck_at` is `None` when an administrator or the
    /// transport set it: then only they clear it.
    Marginal { recheck_at: Option<Instant> },
}

/// What a marginal transition means for the path's published state.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum MarginalChange {
    None,
    /// Sampling started: count successful completions on the data plane.
    StartSampling,
    /// The sample found the path marginal.
    BecameMarginal,
    /// The sample found it healthy (or too few I/Os to tell).
    Cleared,
}

impl MarginalState {
    pub(crate) const HEALTHY: MarginalState = MarginalState::Healthy { last_error: None };

    /// A path error on a path whose probes pass.
    pub(crate) fn on_path_error(&mut self, now: Instant, cfg: &MarginalConfig) -> MarginalChange {
        if cfg.double_failure_window.is_zero() {
            return MarginalChange::None;
        }
        match self {
            MarginalState::Healthy { last_error } => {
                let double = last_error
                    .is_some_and(|t| now.saturating_duration_since(t) <= cfg.double_failure_window);
                if double {
                    *self = MarginalState::Sampling {
                        until: now.saturating_add(cfg.sample_time),
                        errors: 1,
                    };
                    MarginalChange::StartSampling
                } else {
                    *last_error = Some(now);
                    MarginalChange::None
                }
            }
            MarginalState::Sampling { errors, .. } => {
                *errors = errors.saturating_add(1);
                MarginalChange::None
            }
            MarginalState::Marginal { .. } => MarginalChange::None,
        }
    }

    /// Timer work; `take_ok` drains the data plane's success count for the
    /// path (only called when a sample ends).
    pub(crate) fn on_timer(
        &mut self,
        now: Instant,
        cfg: &MarginalConfig,
        take_ok: impl FnOnce() -> u32,
    ) -> MarginalChange {
        match *self {
            MarginalState::Sampling { until, errors } if until <= now => {
                let ok = take_ok();
                let total = u64::from(ok).saturating_add(u64::from(errors));
                let rate = u64::from(errors)
                    .saturating_mul(1000)
                    .checked_div(total)
                    .unwrap_or(0);
                if total >= u64::from(cfg.min_samples) && rate >= u64::from(cfg.error_rate_permille)
                {
                    *self = MarginalState::Marginal {
                        recheck_at: Some(now.saturating_add(cfg.recheck_gap)),
                    };
                    MarginalChange::BecameMarginal
                } else {
                    *self = MarginalState::HEALTHY;
                    MarginalChange::Cleared
                }
            }
            MarginalState::Marginal {
                recheck_at: Some(t),
            } if t <= now => {
                // Back into the normal tier and measure again: a path used
                // only as a last resort gets too little I/O to judge.
                *self = MarginalState::Sampling {
                    until: now.saturating_add(cfg.sample_time),
                    errors: 0,
                };
                MarginalChange::StartSampling
            }
            _ => MarginalChange::None,
        }
    }

    /// The checker found the path down: a lone earlier error and a sample
    /// under way were the outage's doing and are forgotten. A marginal
    /// verdict stands (it was reached while probes passed).
    pub(crate) fn on_outage(&mut self) {
        if !self.is_marginal() {
            *self = MarginalState::HEALTHY;
        }
    }

    pub(crate) fn is_marginal(&self) -> bool {
        matches!(self, MarginalState::Marginal { .. })
    }

    pub(crate) fn is_sampling(&self) -> bool {
        matches!(self, MarginalState::Sampling { .. })
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        match *self {
            MarginalState::Sampling { until, .. } => Some(until),
            MarginalState::Marginal { recheck_at } => recheck_at,
            MarginalState::Healthy { .. } => None,
        }
    }
}

/// Flap damping after multipath-tools' `san_path_err_*`: a path that failed
/// `threshold` times (forgetting one failure per `forget_interval`) waits
/// `recovery_time` before it is reinstated.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FlapDamper {
    failures: u32,
    /// Time from which forgetting is counted.
    since: Instant,
    /// Held out until then.
    pub(crate) damped_until: Option<Instant>,
}

impl FlapDamper {
    pub(crate) fn new(now: Instant) -> Self {
        FlapDamper {
            failures: 0,
            since: now,
            damped_until: None,
        }
    }

    fn forget(&mut self, now: Instant, cfg: &FlapConfig) {
        let n = now
            .saturating_duration_since(self.since)
            .as_nanos()
            .checked_div(cfg.forget_interval.as_nanos())
            .unwrap_or(0);
        if n > 0 {
            let n32 = u32::try_from(n).unwrap_or(u32::MAX);
            self.failures = self.failures.saturating_sub(n32);
            self.since = self
                .since
                .saturating_add(cfg.forget_interval.saturating_mul(n));
        }
        if self.failures == 0 {
            self.since = now;
        }
    }

    /// The path failed.
    pub(crate) fn on_failure(&mut self, now: Instant, cfg: &FlapConfig) {
        if cfg.threshold == 0 {
            return;
        }
        self.forget(now, cfg);
        self.failures = self.failures.saturating_add(1);
    }

    /// The path is about to be reinstated: returns true if it must wait.
    pub(crate) fn hold_on_reinstate(&mut self, now: Instant, cfg: &FlapConfig) -> bool {
        if cfg.threshold == 0 {
            return false;
        }
        if let Some(t) = self.damped_until {
            return t > now;
        }
        self.forget(now, cfg);
        if self.failures >= cfg.threshold {
            self.damped_until = Some(now.saturating_add(cfg.recovery_time));
            true
        } else {
            false
        }
    }

    /// Timer work: returns true when the recovery time just ended.
    pub(crate) fn on_timer(&mut self, now: Instant) -> bool {
        if self.damped_until.is_some_and(|t| t <= now) {
            self.damped_until = None;
            self.failures = 0;
            self.since = now;
            return true;
        }
        false
    }

    pub(crate) fn is_damped(&self) -> bool {
        self.damped_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn t(s: u64) -> Instant {
        Instant::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn probe_interval_doubles_to_max_and_resets_on_change() {
        let cfg = Config::DEFAULT.probe; // 5 s .. 20 s
        let mut p = ProbeSchedule::new(t(0), &cfg);
        assert_eq!(p.next_deadline(), Some(t(5)));
        let mut now = t(5);
        let mut intervals = [0u64; 4];
        for slot in &mut intervals {
            assert!(!p.on_timer(now));
            assert!(p.wanted);
            p.sent(now, &cfg);
            p.done(now, true, &cfg);
            *slot = p.interval.as_nanos() / 1_000_000_000;
            now = p.next_at.unwrap();
        }
        assert_eq!(intervals, [10, 20, 20, 20]);
        p.on_timer(now);
        p.sent(now, &cfg);
        p.done(now, false, &cfg);
        assert_eq!(p.interval, cfg.min_interval);
    }

    #[test]
    fn probe_times_out() {
        let cfg = Config::DEFAULT.probe;
        let mut p = ProbeSchedule::new(t(0), &cfg);
        p.on_timer(t(5));
        p.sent(t(5), &cfg);
        assert_eq!(p.next_deadline(), Some(t(35)));
        assert!(!p.on_timer(t(34)));
        assert!(p.on_timer(t(35)));
        // expedite while nothing is in flight asks for one at once
        p.expedite(&cfg);
        assert!(p.wanted);
    }

    #[test]
    fn marginal_double_failure_then_rate() {
        let cfg = MarginalConfig {
            double_failure_window: Duration::from_secs(10),
            sample_time: Duration::from_secs(60),
            error_rate_permille: 100,
            min_samples: 10,
            recheck_gap: Duration::from_secs(300),
        };
        let mut m = MarginalState::HEALTHY;
        assert_eq!(m.on_path_error(t(0), &cfg), MarginalChange::None);
        // Second error outside the window: just remembered.
        assert_eq!(m.on_path_error(t(11), &cfg), MarginalChange::None);
        assert_eq!(m.on_path_error(t(15), &cfg), MarginalChange::StartSampling);
        assert_eq!(m.next_deadline(), Some(t(75)));
        for _ in 0..4 {
            m.on_path_error(t(20), &cfg);
        }
        // 5 errors / (5 + 45 ok) = 100 permille: marginal.
        assert_eq!(
            m.on_timer(t(75), &cfg, || 45),
            MarginalChange::BecameMarginal
        );
        assert!(m.is_marginal());
        assert_eq!(m.next_deadline(), Some(t(375)));
        assert_eq!(
            m.on_timer(t(375), &cfg, || 0),
            MarginalChange::StartSampling
        );
        // The recheck sees few I/Os: healthy again.
        assert_eq!(m.on_timer(t(435), &cfg, || 3), MarginalChange::Cleared);
        assert_eq!(m, MarginalState::HEALTHY);
    }

    #[test]
    fn marginal_low_rate_clears_and_off_switch() {
        let cfg = MarginalConfig {
            double_failure_window: Duration::from_secs(10),
            sample_time: Duration::from_secs(60),
            error_rate_permille: 100,
            min_samples: 10,
            recheck_gap: Duration::from_secs(300),
        };
        let mut m = MarginalState::HEALTHY;
        m.on_path_error(t(0), &cfg);
        m.on_path_error(t(1), &cfg);
        // 2 errors in 1000: 2 permille.
        assert_eq!(m.on_timer(t(61), &cfg, || 998), MarginalChange::Cleared);
        let off = MarginalConfig {
            double_failure_window: Duration::ZERO,
            ..cfg
        };
        let mut m = MarginalState::HEALTHY;
        for s in 0..5 {
            assert_eq!(m.on_path_error(t(s), &off), MarginalChange::None);
        }
        assert_eq!(m, MarginalState::HEALTHY);
    }

    #[test]
    fn flap_damping_threshold_forget_recovery() {
        let cfg = FlapConfig {
            threshold: 3,
            forget_interval: Duration::from_secs(10),
            recovery_time: Duration::from_secs(60),
        };
        let mut f = FlapDamper::new(t(0));
        f.on_failure(t(1), &cfg);
        f.on_failure(t(2), &cfg);
        assert!(!f.hold_on_reinstate(t(3), &cfg));
        f.on_failure(t(4), &cfg);
        assert!(f.hold_on_reinstate(t(5), &cfg));
        assert!(f.is_damped());
        assert!(!f.on_timer(t(64)));
        assert!(f.on_timer(t(65)));
        assert!(!f.is_damped());
        // Failures spread out are forgotten.
        let mut f = FlapDamper::new(t(0));
        for s in [0, 15, 30, 45] {
            f.on_failure(t(s), &cfg);
        }
        assert!(!f.hold_on_reinstate(t(46), &cfg));
        // Threshold 0: never damped.
        let off = FlapConfig {
            threshold: 0,
            ..cfg
        };
        let mut f = FlapDamper::new(t(0));
        for s in 0..10 {
            f.on_failure(t(s), &off);
        }
        assert!(!f.hold_on_reinstate(t(10), &off));
    }

    #[test]
    fn flap_forgetting_counts_from_the_first_remembered_failure() {
        let cfg = FlapConfig {
            threshold: 2,
            forget_interval: Duration::from_secs(10),
            recovery_time: Duration::from_secs(60),
        };
        // Failures at 0 s and 5 s; by 12 s one is forgotten (counted from
        // 0 s, not from the later failure): below the threshold.
        let mut f = FlapDamper::new(t(0));
        f.on_failure(t(0), &cfg);
        f.on_failure(t(5), &cfg);
        assert!(!f.hold_on_reinstate(t(12), &cfg));
        // Still damped while asked again before the recovery time ends,
        // released at its end even before the timer runs.
        let mut f = FlapDamper::new(t(0));
        f.on_failure(t(1), &cfg);
        f.on_failure(t(2), &cfg);
        assert!(f.hold_on_reinstate(t(3), &cfg));
        assert!(f.hold_on_reinstate(t(30), &cfg));
        assert!(f.hold_on_reinstate(t(62), &cfg));
        assert!(!f.hold_on_reinstate(t(63), &cfg));
    }

    #[test]
    fn an_outage_forgets_a_lone_error_and_a_sample_but_not_a_verdict() {
        let cfg = Config::DEFAULT.marginal;
        let mut m = MarginalState::HEALTHY;
        m.on_path_error(t(0), &cfg);
        m.on_outage();
        assert_eq!(m, MarginalState::HEALTHY);
        m.on_path_error(t(1), &cfg);
        assert_eq!(m.on_path_error(t(2), &cfg), MarginalChange::StartSampling);
        m.on_outage();
        assert_eq!(m, MarginalState::HEALTHY);
        let verdict = MarginalState::Marginal {
            recheck_at: Some(t(9)),
        };
        let mut m = verdict;
        m.on_outage();
        assert_eq!(m, verdict);
    }
}
