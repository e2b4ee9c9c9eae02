//! Timers: one pass over every deadline the device holds.

use super::publish::Cause;
use super::{Controller, HeadState};
use crate::dataplane::DataPlane;
use crate::error::Error;
use crate::health::{earliest, MarginalChange};
use crate::path::PathId;
use crate::time::Instant;
use core::borrow::Borrow;

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize>
    Controller<D, N, Q, G>
{
    /// Act on every deadline at or before `now`.
    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), Error> {
        self.enter(now)
    }

    /// The earliest instant at which [`handle_timeout`](Self::handle_timeout)
    /// has work, or `None` if no timer is armed. Never earlier than the
    /// latest time the controller has seen.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.head == HeadState::Removed {
            return None;
        }
        let now = self.clock.now();
        let mut t: Option<Instant> = None;
        for p in self.paths.iter().flatten() {
            t = earliest(t, p.probe.next_deadline());
            t = earliest(t, p.marginal.next_deadline());
            t = earliest(t, p.flap.damped_until);
            t = earliest(t, p.refresh.next_at);
        }
        for g in &self.groups {
            t = earliest(t, g.next_deadline());
        }
        if let Some(a) = &self.activation {
            t = earliest(t, a.retry.next_at);
        }
        t = earliest(t, self.failback.release_at);
        if let HeadState::Orphaned { remove_at } = self.head {
            t = earliest(t, Some(remove_at));
        }
        if !self.requeue.is_empty() {
            if self.quiesced_over_a_live_path() {
                // Held until the coordinator says the move is over.
            } else if self.published_mask == 0 {
                t = match self.no_path_verdict(now) {
                    // Failing now: what is left is writes in their quiesce
                    // time, which fail when it is over.
                    super::io::NoPathVerdict::Fail(_) => {
                        earliest(t, self.requeue.next_ready_after(now))
                    }
                    super::io::NoPathVerdict::Queue => earliest(t, self.no_path_deadline()),
                };
            } else {
                t = earliest(t, self.requeue.next_ready_after(now));
            }
        }
        t.map(|t| t.max(now))
    }

    /// Run every due timer. Each handler moves its own deadline strictly
    /// past `now` or clears it (configuration guarantees non-zero
    /// intervals), so one pass suffices.
    pub(crate) fn run_timers(&mut self, now: Instant) {
        let mut changed = false;
        let cfg = self.cfg;
        let mut timed_out: heapless::Vec<PathId, N> = heapless::Vec::new();
        for slot in 0..N {
            let dp: &DataPlane<N> = self.dp.borrow();
            let Some(p) = self.paths.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            if p.probe.on_timer(now) {
                let _ = timed_out.push(p.id);
            }
            match p
                .marginal
                .on_timer(now, &cfg.marginal, || dp.take_sampled_ok(slot))
            {
                MarginalChange::None => {}
                MarginalChange::StartSampling => {
                    // Drop successes counted before this sample began.
                    dp.take_sampled_ok(slot);
                    changed = true;
                }
                MarginalChange::BecameMarginal => {
                    p.counters.marginal_verdicts = p.counters.marginal_verdicts.saturating_add(1);
                    changed = true;
                }
                MarginalChange::Cleared => changed = true,
            }
            if p.flap.on_timer(now) {
                changed = true;
            }
            p.refresh.on_timer(now);
        }
        // By reference: a heapless vector's by-value iterator keeps a
        // bounds-checked slice in its drop, a panic path in object code.
        for &id in timed_out.iter() {
            if let Ok(p) = self.rec_mut(id) {
                p.counters.probe_failures = p.counters.probe_failures.saturating_add(1);
            }
            self.link_down(id, now);
            changed = true;
        }
        let poll = cfg.access.transition_poll;
        let mut polls: heapless::Vec<crate::access::GroupId, G> = heapless::Vec::new();
        for g in self.groups.iter_mut() {
            let (poll_now, expired) = g.on_timer(now, poll);
            if poll_now || expired {
                let _ = polls.push(g.id);
            }
            changed |= expired;
        }
        for &group in polls.iter() {
            self.request_refresh_for_group(group);
        }
        if let Some(a) = self.activation.as_mut() {
            a.retry.on_timer(now);
        }
        let mut cause = Cause::Other;
        if self.failback.release_at.is_some_and(|t| t <= now) {
            self.failback = Default::default();
            cause = Cause::Failback;
            changed = true;
        }
        if let HeadState::Orphaned { remove_at } = self.head {
            if remove_at <= now {
                self.head = HeadState::Removed;
                self.head_removed_report = true;
                self.activation = None;
            }
        }
        if changed {
            self.republish(now, cause);
        }
    }

    /// Ask for a state re-read through a reachable path of the group, or of
    /// any group (an RTPG through any port reports every group).
    fn request_refresh_for_group(&mut self, group: crate::access::GroupId) {
        // ALUA: an RTPG through any port reports every group. ANA: a
        // controller's log says nothing about another controller's groups.
        let any_path_will_do = self.cfg.access.protocol == crate::config::AccessProtocol::Alua;
        let pick = |in_group: bool| {
            self.paths.iter().flatten().find(|p| {
                (!in_group || p.spec.group == group)
                    && p.link != crate::tier::Link::Down
                    && !p.admin_failed
            })
        };
        let via = pick(true)
            .or_else(|| if any_path_will_do { pick(false) } else { None })
            .map(|p| p.id);
        if let Some(p) = via.and_then(|id| self.rec_mut(id).ok()) {
            p.refresh.request();
        }
    }
}
