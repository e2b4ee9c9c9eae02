//! Access-state groups and the bounded retry used for re-reads and
//! activations.

use crate::access::{AccessState, GroupAccess, GroupId};
use crate::health::earliest;
use crate::time::{Duration, Instant};

/// A command to the transport that is retried a bounded number of times with
/// a delay: RTPG / ANA log re-reads, STPG activations.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) struct Retry {
    /// Wanted and not yet handed out by `poll_action`.
    pub(crate) wanted: bool,
    /// Handed out, result not back yet.
    pub(crate) in_flight: bool,
    /// Failed attempts so far.
    pub(crate) failures: u8,
    /// When the next attempt becomes wanted.
    pub(crate) next_at: Option<Instant>,
    /// Asked for again while one was in flight: the answer in flight may
    /// predate the change that prompted the new request, so ask once more.
    pub(crate) again: bool,
}

/// Outcome of a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RetryVerdict {
    Again,
    GaveUp,
}

impl Retry {
    /// Ask for an attempt now unless one is already pending.
    pub(crate) fn request(&mut self) {
        if self.in_flight {
            self.again = true;
        } else if self.next_at.is_none() {
            self.wanted = true;
        }
    }
    /// Ask for an attempt now even while waiting to retry a failed one:
    /// the target has said something changed (a state-change notice), so
    /// what the failed attempt would have read is stale news and the
    /// retry delay protects nothing (scsi_dh_alua queues an RTPG on
    /// 2A/06, Linux NVMe reads the ANA log on the event, at once). The
    /// failures so far still count towards giving up.
    pub(crate) fn request_now(&mut self) {
        if self.in_flight {
            self.again = true;
        } else {
            self.next_at = None;
            self.wanted = true;
        }
    }
    /// Wanted, in flight or waiting to retry.
    pub(crate) fn pending(&self) -> bool {
        self.wanted || self.in_flight || self.next_at.is_some()
    }
    pub(crate) fn sent(&mut self) {
        self.wanted = false;
        self.in_flight = true;
    }
    pub(crate) fn succeeded(&mut self) {
        let again = self.again;
        *self = Retry::default();
        self.wanted = again;
    }
    pub(crate) fn failed(&mut self, now: Instant, max: u8, delay: Duration) -> RetryVerdict {
        self.in_flight = false;
        self.again = false;
        self.failures = self.failures.saturating_add(1);
        if self.failures > max {
            *self = Retry::default();
            RetryVerdict::GaveUp
        } else {
            self.next_at = Some(now.saturating_add(delay));
            RetryVerdict::Again
        }
    }
    pub(crate) fn on_timer(&mut self, now: Instant) {
        if self.next_at.is_some_and(|t| t <= now) {
            self.next_at = None;
            self.wanted = true;
        }
    }
}

/// One access-state group as the control plane tracks it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroupRec {
    pub(crate) id: GroupId,
    pub(crate) access: GroupAccess,
    /// Transition timeout for this group (RTPG IMPLICIT TRANSITION TIME,
    /// NVMe ANATT).
    pub(crate) transition_timeout: Duration,
    /// While transitional: when the transition was first reported.
    pub(crate) transition_started: Option<Instant>,
    /// While transitional: when the state is given up on.
    pub(crate) transition_deadline: Option<Instant>,
    /// While transitional: when to re-read the state next.
    pub(crate) next_poll: Option<Instant>,
    /// The transition deadline passed without a new state.
    pub(crate) timed_out: bool,
    /// The timeout was noticed and not yet reported by `poll_action`.
    pub(crate) timeout_report_wanted: bool,
}

impl GroupRec {
    pub(crate) fn new(id: GroupId, access: GroupAccess, transition_timeout: Duration) -> Self {
        GroupRec {
            id,
            access,
            transition_timeout,
            transition_started: None,
            transition_deadline: None,
            next_poll: None,
            timed_out: false,
            timeout_report_wanted: false,
        }
    }

    /// The state that decides eligibility: the reported one, or what a
    /// transition that outlived its timeout is taken to be.
    pub(crate) fn effective(&self) -> AccessState {
        if self.timed_out {
            self.access.state.after_transition_timeout()
        } else {
            self.access.state
        }
    }

    /// Apply a reported state; returns whether anything changed.
    pub(crate) fn set(&mut self, access: GroupAccess, now: Instant, poll: Duration) -> bool {
        let changed = access != self.access || self.timed_out;
        let was_transitional = self.access.state.is_transitional() && !self.timed_out;
        self.access = access;
        if access.state.is_transitional() {
            // A transition that is reported again keeps its first deadline:
            // the timeout bounds the whole transition, not each report.
            if !was_transitional {
                self.transition_started = Some(now);
                self.transition_deadline = Some(now.saturating_add(self.transition_timeout));
                self.timed_out = false;
            }
            self.next_poll = Some(now.saturating_add(poll));
        } else {
            self.transition_started = None;
            self.transition_deadline = None;
            self.next_poll = None;
            self.timed_out = false;
            self.timeout_report_wanted = false;
        }
        changed
    }

    /// A new transition timeout (RTPG IMPLICIT TRANSITION TIME, ANATT). A
    /// transition already running is measured against it from its start.
    pub(crate) fn set_transition_timeout(&mut self, timeout: Duration) {
        self.transition_timeout = timeout;
        if let (Some(start), Some(_)) = (self.transition_started, self.transition_deadline) {
            self.transition_deadline = Some(start.saturating_add(timeout));
        }
    }

    /// Timer work. Returns (poll now, timed out now).
    pub(crate) fn on_timer(&mut self, now: Instant, poll: Duration) -> (bool, bool) {
        let mut timed_out_now = false;
        if self.transition_deadline.is_some_and(|t| t <= now) {
            self.transition_deadline = None;
            self.transition_started = None;
            self.timed_out = true;
            self.timeout_report_wanted = true;
            timed_out_now = true;
        }
        let mut poll_now = false;
        if self.next_poll.is_some_and(|t| t <= now) {
            poll_now = true;
            self.next_poll = if self.timed_out {
                None
            } else {
                Some(now.saturating_add(poll))
            };
        }
        (poll_now, timed_out_now)
    }

    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        earliest(self.transition_deadline, self.next_poll)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: u64) -> Instant {
        Instant::from_nanos(s * 1_000_000_000)
    }

    #[test]
    fn retry_is_bounded() {
        let mut r = Retry::default();
        r.request();
        assert!(r.wanted);
        r.sent();
        r.request(); // in flight: no second request
        assert!(!r.wanted);
        assert_eq!(
            r.failed(t(0), 2, Duration::from_secs(1)),
            RetryVerdict::Again
        );
        assert_eq!(r.next_at, Some(t(1)));
        r.on_timer(t(1));
        assert!(r.wanted);
        r.sent();
        assert_eq!(
            r.failed(t(1), 2, Duration::from_secs(1)),
            RetryVerdict::Again
        );
        r.on_timer(t(2));
        r.sent();
        assert_eq!(
            r.failed(t(2), 2, Duration::from_secs(1)),
            RetryVerdict::GaveUp
        );
        assert_eq!(r, Retry::default());
    }

    #[test]
    fn a_notice_cuts_a_retry_wait_short() {
        let mut r = Retry::default();
        r.request();
        r.sent();
        assert_eq!(
            r.failed(t(0), 3, Duration::from_secs(1)),
            RetryVerdict::Again
        );
        // An ordinary request waits for the retry time.
        r.request();
        assert!(!r.wanted && r.next_at == Some(t(1)));
        // A notice does not.
        r.request_now();
        assert!(r.wanted && r.next_at.is_none());
        assert_eq!(r.failures, 1, "failures still count");
        // In flight: asked again once it is back, as `request` does.
        r.sent();
        r.request_now();
        assert!(r.again && !r.wanted && r.in_flight);
    }

    #[test]
    fn alua_transition_times_out_to_standby_and_ana_change_to_inaccessible() {
        for (state, after) in [
            (AccessState::Transitioning, AccessState::Standby),
            (AccessState::Change, AccessState::Inaccessible),
        ] {
            let mut g = GroupRec::new(
                GroupId(1),
                GroupAccess::new(AccessState::Optimized),
                Duration::from_secs(10),
            );
            assert!(g.set(GroupAccess::new(state), t(0), Duration::from_secs(1)));
            assert_eq!(g.next_deadline(), Some(t(1)));
            assert_eq!(g.on_timer(t(1), Duration::from_secs(1)), (true, false));
            // Re-reported transition keeps the first deadline.
            g.set(GroupAccess::new(state), t(5), Duration::from_secs(1));
            assert_eq!(g.transition_deadline, Some(t(10)));
            assert_eq!(g.effective(), state);
            let (_, timed_out) = g.on_timer(t(10), Duration::from_secs(1));
            assert!(timed_out);
            assert_eq!(g.effective(), after);
            // A fresh report ends it.
            assert!(g.set(
                GroupAccess::new(AccessState::Optimized),
                t(11),
                Duration::from_secs(1)
            ));
            assert_eq!(g.effective(), AccessState::Optimized);
            assert_eq!(g.next_deadline(), None);
        }
    }
}
