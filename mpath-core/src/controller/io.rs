//! The I/O lifecycle on the control plane: slow-path submission, failed
//! completions, failover and the requeue.

use super::{Controller, Disposition, HeadState};
use crate::config::NoPathPolicy;
use crate::dataplane::DataPlane;
use crate::error::{Error, Rejected};
use crate::io::{Io, IoError, IoKind, IoTag, Ticket};
use crate::outcome::{Completion, Outcome};
use crate::path::PathId;
use crate::requeue::Queued;
use crate::tier::Link;
use crate::time::Instant;
use core::borrow::Borrow;

/// What the no-path policy says right now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum NoPathVerdict {
    Queue,
    Fail(IoError),
}

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize>
    Controller<D, N, Q, G>
{
    /// Submit an I/O through the control plane: the slow path for when the
    /// data plane found no selectable path, and the only path for
    /// single-threaded embedders. Selects a path if one is usable, else
    /// applies the no-path policy.
    ///
    /// [`Disposition::Busy`] hands the I/O back unstarted when the device's
    /// outstanding-I/O budget (its requeue depth `Q`: I/O started and held
    /// together) is spent: back-pressure at submit, so that every failed
    /// completion finds room in the requeue.
    pub fn submit(&mut self, io: Io, now: Instant) -> Result<Disposition, Rejected<Io>> {
        self.enter(now)
            .map_err(|error| Rejected { error, item: io })?;
        self.counters.submitted = self.counters.submitted.saturating_add(1);
        let dp: &DataPlane<N> = self.dp.borrow();
        if !dp.take_credit(&mut self.cursor) {
            self.counters.busy = self.counters.busy.saturating_add(1);
            return Ok(Disposition::Busy(io));
        }
        Ok(self.route(io, None, now, now))
    }

    /// The credit of an I/O that ended goes back to the pool, through
    /// the controller's cursor.
    pub(crate) fn give_credit(&mut self) {
        let dp: &DataPlane<N> = self.dp.borrow();
        dp.give_credit(&mut self.cursor);
    }

    /// An I/O that holds a credit ends here with `result`.
    fn done(&mut self, io: Io, result: Result<(), IoError>) -> Disposition {
        self.give_credit();
        Disposition::Done { io, result }
    }

    /// Handle a completion that was not a plain success on the data plane
    /// (successes may come here too). Consumes the ticket; on a refused
    /// input (time going backwards) the ticket is handed back untouched.
    pub fn handle_completion(
        &mut self,
        ticket: Ticket,
        completion: Completion,
        now: Instant,
    ) -> Result<Disposition, Rejected<Ticket>> {
        self.complete_failed(ticket, completion, now, false)
    }

    /// [`handle_completion`](Self::handle_completion); `own_conflict`: a
    /// RESERVATION CONFLICT our own reservation move caused (the device
    /// knows), held and sent again without spending a retry.
    pub(crate) fn complete_failed(
        &mut self,
        ticket: Ticket,
        completion: Completion,
        now: Instant,
        own_conflict: bool,
    ) -> Result<Disposition, Rejected<Ticket>> {
        let ticket = self.data_plane().check_ticket(ticket)?;
        if let Err(error) = self.enter(now) {
            return Err(Rejected {
                error,
                item: ticket,
            });
        }
        let path = ticket.path;
        let current = self.rec(path).is_ok();
        if current {
            self.apply_notices(path, completion.notices, now);
        }
        let outcome = completion.outcome;
        let disposition = match outcome {
            Outcome::Success => {
                let io = self.data_plane_complete(ticket, now);
                Disposition::Done { io, result: Ok(()) }
            }
            Outcome::PathError(kind) => {
                self.end(&ticket, now);
                let io = ticket.io;
                if current {
                    self.path_error(path, kind, ticket.started, now);
                }
                self.counters.failovers = self.counters.failovers.saturating_add(1);
                if let Ok(p) = self.rec_mut(path) {
                    p.counters.failovers = p.counters.failovers.saturating_add(1);
                }
                // Writes wait until the failed attempt can no longer land.
                let not_before = match io.kind {
                    IoKind::Write => self
                        .rec(path)
                        .map_or(now.saturating_add(self.cfg.quiesce_time), |p| {
                            p.quiesce_until
                        }),
                    IoKind::Read => now,
                };
                // Path errors spend none of the I/O's retry budget.
                self.republish(now, super::publish::Cause::Other);
                self.route(io, None, not_before, now)
            }
            Outcome::TargetError(e) => {
                self.end(&ticket, now);
                self.counters.target_errors = self.counters.target_errors.saturating_add(1);
                if let Ok(p) = self.rec_mut(path) {
                    p.counters.target_errors = p.counters.target_errors.saturating_add(1);
                }
                self.done(ticket.io, Err(IoError::Target(e)))
            }
            Outcome::ReservationConflict => {
                self.end(&ticket, now);
                self.counters.conflicts = self.counters.conflicts.saturating_add(1);
                if let Ok(p) = self.rec_mut(path) {
                    p.counters.conflicts = p.counters.conflicts.saturating_add(1);
                }
                let mut io = ticket.io;
                // While we hold a key, a conflict is checked (the device has
                // the coordinator read the keys, holding I/O): one our own
                // move caused is sent again for free, any other spends a
                // retry, so a conflict that is real ends the I/O.
                if self.key_active && !self.pr_fenced && (own_conflict || io.retries > 0) {
                    if !own_conflict {
                        io.retries = io.retries.saturating_sub(1);
                        self.counters.retries = self.counters.retries.saturating_add(1);
                    }
                    self.route(io, None, now, now)
                } else {
                    self.done(io, Err(IoError::ReservationConflict))
                }
            }
            Outcome::Retry { delay, .. } => {
                self.end(&ticket, now);
                let mut io = ticket.io;
                if io.retries == 0 {
                    self.counters.retries_exhausted =
                        self.counters.retries_exhausted.saturating_add(1);
                    self.done(io, Err(IoError::RetriesExhausted))
                } else {
                    io.retries = io.retries.saturating_sub(1);
                    self.counters.retries = self.counters.retries.saturating_add(1);
                    if let Ok(p) = self.rec_mut(path) {
                        p.counters.retries = p.counters.retries.saturating_add(1);
                    }
                    self.route(io, Some(path), now.saturating_add(delay), now)
                }
            }
        };
        // Path errors republished before routing; otherwise only notices
        // (marginal, re-read requests) can have changed what is eligible.
        let path_error = matches!(outcome, Outcome::PathError(_));
        if current && !path_error && !completion.notices.is_empty() {
            self.republish(now, super::publish::Cause::Other);
        }
        Ok(disposition)
    }

    /// Cancel a held I/O (the submitter aborted it). Unknown tags are an
    /// error; nothing changes.
    pub fn cancel(&mut self, tag: IoTag, now: Instant) -> Result<Io, Error> {
        if !self.requeue.iter().any(|q| q.io.tag == tag) {
            return Err(Error::UnknownIo(tag));
        }
        self.enter(now)?;
        let q = self.requeue.take_tag(tag).ok_or(Error::UnknownIo(tag))?;
        self.give_credit();
        Ok(q.io)
    }

    /// The data plane's `submit` with the controller's cursor
    /// ([`Multipath`](crate::Multipath)'s fast path).
    pub(crate) fn fast_submit(&mut self, io: Io, now: Instant) -> Result<Ticket, Io> {
        let dp: &DataPlane<N> = self.dp.borrow();
        dp.submit(&mut self.cursor, io, now)
    }

    /// The data plane's `complete` with the controller's cursor.
    pub(crate) fn fast_complete(
        &mut self,
        ticket: Ticket,
        now: Instant,
    ) -> Result<Io, Rejected<Ticket>> {
        let dp: &DataPlane<N> = self.dp.borrow();
        dp.complete(&mut self.cursor, ticket, now)
    }

    /// Uncount a ticket that ended other than in success, in the
    /// controller's cursor's part of the load.
    fn end(&mut self, ticket: &Ticket, now: Instant) {
        let dp: &DataPlane<N> = self.dp.borrow();
        dp.end(&mut self.cursor, ticket, now);
    }

    fn data_plane_complete(&mut self, ticket: Ticket, now: Instant) -> Io {
        let dp: &DataPlane<N> = self.dp.borrow();
        dp.complete_own(&mut self.cursor, ticket, now)
    }

    /// Dispatch now if allowed and possible, else hold or fail per policy.
    /// `io` holds an admission credit, which goes with it: into a ticket,
    /// into the requeue, or back to the pool when it ends here.
    fn route(
        &mut self,
        io: Io,
        prefer: Option<PathId>,
        not_before: Instant,
        now: Instant,
    ) -> Disposition {
        if self.head == HeadState::Removed {
            return self.done(io, Err(IoError::HeadRemoved));
        }
        if self.published_mask == 0 && self.no_path_since.is_none() {
            // A head that never had a path: the bound runs from the first
            // I/O that found none.
            self.no_path_since = Some(now);
        }
        if not_before <= now {
            if let Some(ticket) = self.try_start(io, prefer, now) {
                return Disposition::Dispatch(ticket);
            }
            if let NoPathVerdict::Fail(error) = self.no_path_verdict(now) {
                self.counters.no_path_failures = self.counters.no_path_failures.saturating_add(1);
                return self.done(io, Err(error));
            }
        }
        match self.requeue.push(Queued {
            io,
            not_before,
            prefer,
        }) {
            Ok(()) => {
                self.counters.requeued = self.counters.requeued.saturating_add(1);
                if let Some(p) = prefer.and_then(|p| self.rec_mut(p).ok()) {
                    p.counters.requeues = p.counters.requeues.saturating_add(1);
                }
                Disposition::Queued
            }
            Err(q) => {
                // Not reached: every held I/O owns one of the `Q` credits
                // and the requeue holds `Q`. Handed back rather than lost.
                self.counters.busy = self.counters.busy.saturating_add(1);
                self.give_credit();
                Disposition::Busy(q.io)
            }
        }
    }

    /// Start `io` on the preferred path if it is selectable, else on what the
    /// selector picks.
    pub(crate) fn try_start(
        &mut self,
        io: Io,
        prefer: Option<PathId>,
        now: Instant,
    ) -> Option<Ticket> {
        let dp: &DataPlane<N> = self.dp.borrow();
        let mask = dp.selectable_for(io.kind);
        let path = match prefer {
            Some(p) if mask & crate::bits::bit(p.slot()) != 0 && dp.is_current(p) => p,
            _ => dp.select(&mut self.cursor, &io, now)?,
        };
        Some(dp.start_held(&mut self.cursor, path, io, now))
    }

    /// Whether a path may become usable without outside help: a transition
    /// or an activation is under way, or a probe reported pending.
    pub(crate) fn recovery_expected(&self) -> bool {
        if self.activation.is_some() {
            return true;
        }
        self.paths.iter().flatten().any(|p| {
            !p.admin_failed
                && (p.link == Link::Pending
                    // A state re-read under way may make the path usable.
                    || (p.link == Link::Up && p.refresh.pending())
                    || (p.link == Link::Up
                        && self
                            .group(p.spec.group)
                            .is_some_and(|g| g.effective().is_transitional())))
        })
    }

    /// A reservation move (or a preemption check, or a holder that cannot
    /// carry I/O until it is moved) holds I/O, and some path is up to
    /// carry it once that ends. With no path up, the hold is no
    /// reason to keep I/O past the no-path policy.
    pub(crate) fn quiesced_over_a_live_path(&self) -> bool {
        (self.pr_quiesced || self.pr_waits_for_holder)
            && self
                .paths
                .iter()
                .flatten()
                .any(|p| p.link == Link::Up && !p.admin_failed)
    }

    /// When held I/O must fail because no path came back, if it must.
    pub(crate) fn no_path_deadline(&self) -> Option<Instant> {
        let since = self.no_path_since?;
        match self.cfg.no_path {
            NoPathPolicy::Queue => None,
            NoPathPolicy::QueueFor(d) => Some(since.saturating_add(d)),
            NoPathPolicy::Fail => {
                if self.recovery_expected() {
                    // Bounded by the longest transition under way.
                    let longest = self
                        .groups
                        .iter()
                        .filter_map(|g| g.transition_deadline)
                        .max();
                    let floor = since.saturating_add(self.cfg.access.transition_timeout);
                    Some(longest.map_or(floor, |t| t.max(floor)))
                } else {
                    Some(since)
                }
            }
        }
    }

    pub(crate) fn no_path_verdict(&self, now: Instant) -> NoPathVerdict {
        if self.head == HeadState::Removed {
            return NoPathVerdict::Fail(IoError::HeadRemoved);
        }
        if self.pr_fenced {
            return NoPathVerdict::Fail(IoError::Fenced);
        }
        if self.published_mask != 0 || self.quiesced_over_a_live_path() {
            return NoPathVerdict::Queue;
        }
        match self.no_path_deadline() {
            Some(t) if t <= now => NoPathVerdict::Fail(IoError::NoPath),
            _ => NoPathVerdict::Queue,
        }
    }
}
