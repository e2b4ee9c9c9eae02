//! Path and group inputs: membership, probes, access states, manual
//! commands, notices.

use super::publish::Cause;
use super::{Activation, ActivationResult, Controller, HeadState, PathCounters, PathRec};
use crate::access::{AccessClass, GroupAccess, GroupId};
use crate::dataplane::DataPlane;
use crate::error::{Error, Rejected};
use crate::group::{GroupRec, RetryVerdict};
use crate::health::{FlapDamper, MarginalChange, MarginalState, ProbeSchedule};
use crate::outcome::{Notices, PathErrorKind, ProbeResult};
use crate::path::{PathId, PathSpec};
use crate::tier::{Link, Tier};
use crate::time::{Duration, Instant};
use core::borrow::Borrow;

/// A transport's own word about a path, outside probes and I/O (link loss,
/// controller reset done, rport back).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkEvent {
    /// The transport lost the path (dev_loss, controller state not live).
    Down,
    /// The transport has it again; it will be probed before use unless the
    /// embedder says it is verified.
    Up,
}

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize>
    Controller<D, N, Q, G>
{
    /// Add a path. It starts up and is probed at the normal interval; while
    /// a reservation key is set it carries no I/O until its nexus is
    /// registered.
    pub fn add_path(&mut self, spec: PathSpec, now: Instant) -> Result<PathId, Rejected<PathSpec>> {
        let reject = |error| Rejected { error, item: spec };
        if self.head == HeadState::Removed {
            return Err(reject(Error::HeadRemoved));
        }
        self.clock.check(now).map_err(|e| reject(e.into()))?;
        if self
            .paths
            .iter()
            .flatten()
            .any(|p| p.spec.nexus == spec.nexus)
        {
            return Err(reject(Error::DuplicateNexus(spec.nexus)));
        }
        // A slot whose previous path still has counted I/O outstanding is
        // not reused: those completions will decrement its counters. What
        // other cursors have not published yet (fewer than `PUBLISH_IOS`
        // each) is not seen here; a slot reused over it starts with that
        // much load off, until those I/Os end (`crate::load`).
        let dp = self.dp.borrow();
        let slot = (0..N)
            .find(|&s| {
                self.paths.get(s).is_some_and(Option::is_none)
                    && dp.load_seen_by(&self.cursor, s) == (0, 0)
            })
            .ok_or(reject(Error::PathTableFull))?;
        if self.group(spec.group).is_none() && self.groups.is_full() {
            return Err(reject(Error::GroupTableFull));
        }
        // Validated: from here on nothing fails.
        self.enter(now).map_err(reject)?;
        let poll = self.cfg.access.transition_poll;
        let timeout = self.cfg.access.transition_timeout;
        let timeout = spec.transition_timeout.unwrap_or(timeout);
        if let (Some(t), Some(g)) = (spec.transition_timeout, self.group_mut(spec.group)) {
            g.set_transition_timeout(t);
        }
        match (self.group_mut(spec.group), spec.access) {
            (Some(g), Some(a)) => {
                g.set(a, now, poll);
            }
            (Some(_), None) => {}
            (None, access) => {
                let mut g = GroupRec::new(
                    spec.group,
                    GroupAccess::new(crate::access::AccessState::Optimized),
                    timeout,
                );
                if let Some(a) = access {
                    g.set(a, now, poll);
                }
                // Checked above that there is room.
                let _ = self.groups.push(g);
            }
        }
        let generation = self.generations.get(slot).copied().unwrap_or(1);
        let id = PathId::new(u16::try_from(slot).unwrap_or(u16::MAX), generation);
        let rec = PathRec {
            id,
            spec,
            link: Link::Up,
            admin_failed: false,
            registered: false,
            may_read: false,
            may_write: false,
            access_suspect: false,
            marginal: MarginalState::HEALTHY,
            flap: FlapDamper::new(now),
            probe: ProbeSchedule::new(now, &self.cfg.probe),
            refresh: Default::default(),
            quiesce_until: now,
            failed_at: None,
            tier: Tier::Ineligible,
            counters: PathCounters::default(),
        };
        if let Some(s) = self.paths.get_mut(slot) {
            *s = Some(rec);
        }
        self.dp
            .borrow()
            .publish_path(id, spec.locality, spec.relative_throughput);
        if let HeadState::Orphaned { .. } = self.head {
            self.head = HeadState::Live;
        }
        self.counters.paths_added = self.counters.paths_added.saturating_add(1);
        self.republish(now, Cause::PathUp(id));
        Ok(id)
    }

    /// Remove a path. I/O in flight on it completes through its tickets as
    /// usual (as stale-path completions). When the last path goes, the head
    /// is removed after the configured delay.
    pub fn remove_path(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.rec(path)?;
        self.enter(now)?;
        let slot = path.slot();
        // Bit first, id second: see the data plane's publication order.
        // The republish below recomputes the mask from what is left.
        self.dp.borrow().withdraw_path(slot, self.published_mask);
        if let Some(s) = self.paths.get_mut(slot) {
            *s = None;
        }
        if let Some(g) = self.generations.get_mut(slot) {
            *g = g.checked_add(1).unwrap_or(1);
        }
        self.forget_orphaned_groups();
        if self.activation.is_some_and(|a| a.via == path) {
            self.activation = None;
        }
        self.counters.paths_removed = self.counters.paths_removed.saturating_add(1);
        self.republish(now, Cause::Other);
        if self.paths.iter().all(Option::is_none) {
            let remove_at = now.saturating_add(self.cfg.delayed_removal);
            self.head = HeadState::Orphaned { remove_at };
            self.run_timers(now);
        }
        Ok(())
    }

    /// A group no path refers to any more is forgotten, so transports whose
    /// group ids churn (NVMe controllers reconnecting with new CNTLIDs,
    /// target ports moving between port groups) never fill the table.
    fn forget_orphaned_groups(&mut self) {
        let paths = &self.paths;
        let in_use = |g: GroupId| paths.iter().flatten().any(|p| p.spec.group == g);
        self.groups.retain(|g| in_use(g.id));
        if self.switched_group.is_some_and(|g| !in_use(g)) {
            self.switched_group = None;
        }
        if self.activation.is_some_and(|a| !in_use(a.group)) {
            self.activation = None;
        }
        if self.activation_readback.is_some_and(|g| !in_use(g)) {
            self.activation_readback = None;
        }
    }

    /// Move a path to another access-state group: its target port now
    /// reports in a different target port group (RTPG after a target
    /// reconfiguration), or its namespace moved to another ANA group. The
    /// path keeps its id, counters and health; its access state becomes the
    /// new group's (`access` sets it, for a group the controller has not
    /// seen yet or with fresher news). An activation sent through the path
    /// for its old group is dropped, and the old group is forgotten when no
    /// path is left in it.
    ///
    /// Errors, with nothing changed: an unknown or stale path, time going
    /// backwards, or no room for a new group.
    pub fn move_path_to_group(
        &mut self,
        path: PathId,
        group: GroupId,
        access: Option<GroupAccess>,
        now: Instant,
    ) -> Result<(), Error> {
        let old = self.rec(path)?.spec.group;
        self.clock.check(now)?;
        let old_left_empty = !self
            .paths
            .iter()
            .flatten()
            .any(|p| p.spec.group == old && p.id != path);
        if group != old && self.group(group).is_none() && self.groups.is_full() && !old_left_empty {
            return Err(Error::GroupTableFull);
        }
        self.enter(now)?;
        if let Ok(p) = self.rec_mut(path) {
            p.spec.group = group;
        }
        if group != old {
            if self
                .activation
                .is_some_and(|a| a.via == path && a.group == old)
            {
                self.activation = None;
            }
            // Frees the old group's entry first when the path was its last.
            self.forget_orphaned_groups();
        }
        let poll = self.cfg.access.transition_poll;
        if self.group(group).is_none() {
            let timeout = self.cfg.access.transition_timeout;
            let g = GroupRec::new(
                group,
                GroupAccess::new(crate::access::AccessState::Optimized),
                timeout,
            );
            // Room was checked above.
            let _ = self.groups.push(g);
        }
        if let (Some(a), Some(g)) = (access, self.group_mut(group)) {
            g.set(a, now, poll);
        }
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// Fail a path by hand (dm `fail_path`, multipathd `fail path`). It stays
    /// failed until [`reinstate_path`](Self::reinstate_path), whatever its
    /// probes say.
    pub fn fail_path(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.rec(path)?;
        self.enter(now)?;
        let quiesce = now.saturating_add(self.cfg.quiesce_time);
        if let Ok(p) = self.rec_mut(path) {
            p.admin_failed = true;
            p.quiesce_until = quiesce;
        }
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// Undo [`fail_path`](Self::fail_path) (dm `reinstate_path`) and probe
    /// the path at once.
    pub fn reinstate_path(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.rec(path)?;
        self.enter(now)?;
        let probe_cfg = self.cfg.probe;
        if let Ok(p) = self.rec_mut(path) {
            p.admin_failed = false;
            p.probe.expedite(&probe_cfg);
        }
        self.republish(now, Cause::PathUp(path));
        Ok(())
    }

    /// Mark a path marginal by hand (multipathd `set marginal`) or because
    /// the transport said so; it stays marginal until
    /// [`clear_marginal`](Self::clear_marginal).
    pub fn set_marginal(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.rec(path)?;
        self.enter(now)?;
        if let Ok(p) = self.rec_mut(path) {
            p.marginal = MarginalState::Marginal { recheck_at: None };
        }
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// Clear a marginal mark (multipathd `unset marginal`).
    pub fn clear_marginal(&mut self, path: PathId, now: Instant) -> Result<(), Error> {
        self.rec(path)?;
        self.enter(now)?;
        if let Ok(p) = self.rec_mut(path) {
            p.marginal = MarginalState::HEALTHY;
        }
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// Change a path's relative throughput for the service-time selector
    /// (dm's per-path `relative_throughput` table argument; the proposed
    /// NVMe service-time policy's `relative_throughput` sysfs file). Like
    /// dm, a value above 100 is refused rather than clamped: it is a
    /// mistake in whatever computed it. The path's latency history stays.
    pub fn set_relative_throughput(
        &mut self,
        path: PathId,
        relative_throughput: u8,
        now: Instant,
    ) -> Result<(), Error> {
        if relative_throughput > crate::selector::service_time::MAX_RELATIVE_THROUGHPUT {
            return Err(Error::Config(crate::config::ConfigError::OutOfRange {
                field: "relative_throughput",
            }));
        }
        self.rec(path)?;
        self.enter(now)?;
        if let Ok(p) = self.rec_mut(path) {
            p.spec.relative_throughput = relative_throughput;
        }
        self.dp
            .borrow()
            .set_relative_throughput(path.slot(), relative_throughput);
        Ok(())
    }

    /// Prefer a group over the tier order (dm `switch_group`), or go back to
    /// the tier order with `None`. If the group is in standby and explicit
    /// activation is enabled, it is activated.
    pub fn switch_group(&mut self, group: Option<GroupId>, now: Instant) -> Result<(), Error> {
        if let Some(g) = group {
            if self.group(g).is_none() {
                return Err(Error::UnknownGroup(g));
            }
        }
        self.enter(now)?;
        self.switched_group = group;
        self.activation_exhausted = false;
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// Apply a [`Coordinator`](crate::reservation::Coordinator)'s view: the
    /// admission gate, per-path registration, quiesce while a reservation
    /// moves, and the fence after a preemption. Call after every input to
    /// the coordinator.
    pub fn apply_reservation(
        &mut self,
        pr: &crate::reservation::Coordinator<N>,
        now: Instant,
    ) -> Result<(), Error> {
        self.enter(now)?;
        self.adopt_reservation(pr, now);
        Ok(())
    }

    /// [`apply_reservation`](Self::apply_reservation) once the time has
    /// been checked.
    pub(crate) fn adopt_reservation(
        &mut self,
        pr: &crate::reservation::Coordinator<N>,
        now: Instant,
    ) {
        self.key_active = pr.key_active();
        self.pr_quiesced = pr.is_quiesced();
        self.pr_fenced = pr.is_fenced();
        for p in self.paths.iter_mut().flatten() {
            p.registered = pr.admitted(p.id);
            p.may_read = pr.admits_read(p.id);
            p.may_write = pr.admits_write(p.id);
        }
        self.republish(now, Cause::Other);
    }

    /// A transport event about a path.
    pub fn handle_link(
        &mut self,
        path: PathId,
        event: LinkEvent,
        now: Instant,
    ) -> Result<(), Error> {
        self.rec(path)?;
        self.enter(now)?;
        match event {
            LinkEvent::Down => self.link_down(path, now),
            LinkEvent::Up => {
                // Trust but verify: probe now, keep it out until then.
                let cfg = self.cfg.probe;
                if let Ok(p) = self.rec_mut(path) {
                    p.probe.expedite(&cfg);
                }
            }
        }
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// The result of a probe. Unsolicited results are accepted (a transport
    /// may probe on its own).
    pub fn handle_probe(
        &mut self,
        path: PathId,
        result: ProbeResult,
        now: Instant,
    ) -> Result<(), Error> {
        self.rec(path)?;
        self.enter(now)?;
        self.apply_probe(path, result, now);
        Ok(())
    }

    pub(crate) fn apply_probe(&mut self, path: PathId, result: ProbeResult, now: Instant) {
        let cfg = self.cfg;
        let group_usable = self
            .rec(path)
            .map(|p| self.effective_access(p.spec.group).carries_io())
            .unwrap_or(false);
        let Ok(p) = self.rec_mut(path) else { return };
        p.counters.probes = p.counters.probes.saturating_add(1);
        let was = p.link;
        let mut cause = Cause::Other;
        let mut want_refresh = false;
        match result {
            ProbeResult::Up | ProbeResult::Ghost => {
                p.probe.done(now, was == Link::Up, &cfg.probe);
                if was != Link::Up {
                    p.link = Link::Up;
                    if p.flap.hold_on_reinstate(now, &cfg.flap) {
                        p.counters.damped = p.counters.damped.saturating_add(1);
                    }
                    cause = Cause::PathUp(path);
                }
                // A ghost answer while we think the group serves I/O (or the
                // reverse) means our access state is stale.
                if (result == ProbeResult::Ghost) == group_usable {
                    want_refresh = true;
                }
            }
            ProbeResult::Pending => {
                p.probe.done(now, false, &cfg.probe);
                p.link = Link::Pending;
                want_refresh = true;
            }
            ProbeResult::Down => {
                p.probe.done(now, false, &cfg.probe);
                p.counters.probe_failures = p.counters.probe_failures.saturating_add(1);
                if was == Link::Up {
                    p.flap.on_failure(now, &cfg.flap);
                }
                p.went_down(now);
            }
            ProbeResult::Retry => p.probe.retry(now, &cfg.probe),
        }
        if want_refresh {
            p.refresh.request();
        }
        self.republish(now, cause);
    }

    /// A probe timed out or the transport said down.
    pub(crate) fn link_down(&mut self, path: PathId, now: Instant) {
        let cfg = self.cfg;
        if let Ok(p) = self.rec_mut(path) {
            if p.link == Link::Up {
                p.flap.on_failure(now, &cfg.flap);
            }
            p.went_down(now);
            p.quiesce_until = p.quiesce_until.max(now.saturating_add(cfg.quiesce_time));
            p.probe.expedite(&cfg.probe);
        }
    }

    /// Path-state consequences of a path error on an I/O started at
    /// `started`.
    pub(crate) fn path_error(
        &mut self,
        path: PathId,
        kind: PathErrorKind,
        started: Instant,
        now: Instant,
    ) {
        let cfg = self.cfg;
        let poll = cfg.access.transition_poll;
        let Ok(p) = self.rec_mut(path) else { return };
        p.counters.path_errors = p.counters.path_errors.saturating_add(1);
        p.quiesce_until = p.quiesce_until.max(now.saturating_add(cfg.quiesce_time));
        let group = p.spec.group;
        match kind {
            PathErrorKind::Transport | PathErrorKind::Timeout | PathErrorKind::PathingError => {
                // dm-multipath fails the path on a path error and lets the
                // checker reinstate it; a path whose probes keep passing
                // while I/O keeps failing is what marginal detection sees.
                // One failure is one event: only the first error of a path
                // that is up counts, and only from I/O started since the
                // path last failed (the rest of a burst of timeouts, or late
                // errors of I/O from before an outage, are that failure's).
                let new_event =
                    p.link == Link::Up && p.failed_at.map_or(true, |failed| started >= failed);
                if new_event {
                    if p.marginal.on_path_error(now, &cfg.marginal) == MarginalChange::StartSampling
                    {
                        p.counters.marginal_samples = p.counters.marginal_samples.saturating_add(1);
                    }
                    p.flap.on_failure(now, &cfg.flap);
                }
                // A path error is not an outage the checker saw: the
                // marginal evidence stands (`fail`, not `went_down`).
                p.fail(now);
                p.probe.expedite(&cfg.probe);
            }
            PathErrorKind::AccessDenied => {
                p.access_suspect = true;
                p.refresh.request();
            }
            PathErrorKind::Transitioning => {
                p.refresh.request();
                // As scsi_dh_alua does on 02/04/0A: the group is
                // transitioning now, whatever we last read.
                let state = cfg.access.protocol.transitioning();
                if let Some(g) = self.group_mut(group) {
                    if !g.access.state.is_transitional() {
                        let preferred = g.access.preferred;
                        g.set(GroupAccess { state, preferred }, now, poll);
                    }
                }
            }
            PathErrorKind::Aborted => {}
        }
    }

    /// A group's access state, read from RTPG / the ANA log page or learnt
    /// another way. Unknown groups are added.
    pub fn handle_access_state(
        &mut self,
        group: GroupId,
        access: GroupAccess,
        now: Instant,
    ) -> Result<(), Error> {
        if self.group(group).is_none() && self.groups.is_full() {
            return Err(Error::GroupTableFull);
        }
        self.enter(now)?;
        let poll = self.cfg.access.transition_poll;
        let timeout = self.cfg.access.transition_timeout;
        let changed = match self.group_mut(group) {
            Some(g) => g.set(access, now, poll),
            None => {
                let mut g = GroupRec::new(group, access, timeout);
                g.set(access, now, poll);
                let _ = self.groups.push(g);
                true
            }
        };
        for p in self.paths.iter_mut().flatten() {
            if p.spec.group == group {
                p.access_suspect = false;
            }
        }
        if self.activation_readback == Some(group) {
            self.activation_readback = None;
        }
        if changed {
            self.counters.access_changes = self.counters.access_changes.saturating_add(1);
            self.activation_exhausted = false;
            if self.activation.is_some_and(|a| a.group == group)
                && access.state.class() == AccessClass::Optimized
            {
                self.activation = None;
            }
        }
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// Set a group's transition timeout (RTPG IMPLICIT TRANSITION TIME, NVMe
    /// ANATT).
    pub fn set_transition_timeout(
        &mut self,
        group: GroupId,
        timeout: Duration,
    ) -> Result<(), Error> {
        if timeout.is_zero() {
            return Err(crate::config::ConfigError::ZeroInterval {
                field: "transition_timeout",
            }
            .into());
        }
        let g = self.group_mut(group).ok_or(Error::UnknownGroup(group))?;
        g.set_transition_timeout(timeout);
        Ok(())
    }

    /// Finish a [`RefreshAccessState`](super::Action::RefreshAccessState):
    /// `ok` when the states were read (and reported), `false` on failure.
    pub fn handle_refresh_result(
        &mut self,
        via: PathId,
        ok: bool,
        now: Instant,
    ) -> Result<(), Error> {
        if !self.rec(via)?.refresh.in_flight {
            return Err(Error::NotPending {
                what: "access-state refresh",
            });
        }
        self.enter(now)?;
        let cfg = self.cfg.access;
        // A read that finished (or gave up) ends the wait for a read-back:
        // the states it returned were reported, or no read is coming.
        let mut readback_over = ok;
        if let Ok(p) = self.rec_mut(via) {
            if ok {
                p.refresh.succeeded();
            } else if p
                .refresh
                .failed(now, cfg.refresh_retries, cfg.refresh_delay)
                == RetryVerdict::GaveUp
            {
                p.counters.refresh_failures = p.counters.refresh_failures.saturating_add(1);
                readback_over = true;
            }
        }
        if readback_over {
            self.activation_readback = None;
        }
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// Finish an [`ActivateGroup`](super::Action::ActivateGroup).
    pub fn handle_activation_result(
        &mut self,
        group: GroupId,
        result: ActivationResult,
        now: Instant,
    ) -> Result<(), Error> {
        if !self
            .activation
            .is_some_and(|a| a.group == group && a.retry.in_flight)
        {
            return Err(Error::NotPending { what: "activation" });
        }
        self.enter(now)?;
        let cfg = self.cfg.access;
        let Some(mut act) = self.activation else {
            return Ok(());
        };
        match result {
            ActivationResult::Done => {
                self.activation = None;
                self.activation_readback = Some(act.group);
                self.counters.activations = self.counters.activations.saturating_add(1);
                // Read back what the target made of it, as scsi_dh_alua
                // follows STPG with RTPG.
                if let Ok(p) = self.rec_mut(act.via) {
                    p.refresh.request();
                }
            }
            ActivationResult::Retry => {
                if act
                    .retry
                    .failed(now, cfg.activation_retries, cfg.activation_delay)
                    == RetryVerdict::GaveUp
                {
                    self.activation = None;
                    self.activation_exhausted = true;
                } else {
                    self.activation = Some(act);
                }
            }
            ActivationResult::Failed => {
                self.activation = None;
                self.activation_exhausted = true;
            }
        }
        self.republish(now, Cause::Other);
        Ok(())
    }

    /// Start an explicit activation if one is called for: explicit ALUA is
    /// on, no optimized path is usable, and a standby group (or, with
    /// `activate_non_optimized`, a non-optimized one) has a reachable path.
    /// While non-optimized paths carry I/O, standby groups are left alone,
    /// as scsi_dh_alua does; a switched-to group is activated regardless.
    pub(crate) fn consider_activation(&mut self) {
        if !self.cfg.access.explicit_activation
            || self.activation.is_some()
            || self.activation_exhausted
            || self.activation_readback.is_some()
            || self.head == HeadState::Removed
            || self.published_tier == Some(Tier::Optimized)
        {
            return;
        }
        let optimize = self.cfg.access.activate_non_optimized;
        let non_optimized_usable = self.published_tier == Some(Tier::NonOptimized);
        // Rank: the switched group first, then non-optimized before standby,
        // preferred before not.
        let mut best: Option<(u8, Activation)> = None;
        for p in self.paths.iter().flatten() {
            if p.link != Link::Up || p.admin_failed || (self.key_active && !p.registered) {
                continue;
            }
            let Some(g) = self.group(p.spec.group) else {
                continue;
            };
            let switched = self.switched_group == Some(g.id);
            let class_rank = match g.effective().class() {
                AccessClass::NonOptimized if optimize || switched => 2u8,
                AccessClass::Activatable if !non_optimized_usable || switched => 4,
                _ => continue,
            };
            let mut rank = class_rank;
            if g.access.preferred {
                rank = rank.saturating_sub(1);
            }
            if switched {
                rank = 0;
            }
            if best.is_none_or_worse(rank) {
                best = Some((
                    rank,
                    Activation {
                        group: g.id,
                        via: p.id,
                        retry: Default::default(),
                    },
                ));
            }
        }
        if let Some((_, mut act)) = best {
            act.retry.request();
            self.activation = Some(act);
        }
    }

    /// Notices that arrived outside a completion (asynchronous events, unit
    /// attentions on probes).
    pub fn handle_notices(
        &mut self,
        path: PathId,
        notices: Notices,
        now: Instant,
    ) -> Result<(), Error> {
        self.rec(path)?;
        self.enter(now)?;
        self.apply_notices(path, notices, now);
        self.republish(now, Cause::Other);
        Ok(())
    }

    pub(crate) fn apply_notices(&mut self, path: PathId, notices: Notices, now: Instant) {
        if notices.is_empty() {
            return;
        }
        let recheck = self.cfg.marginal.recheck_gap;
        let Ok(p) = self.rec_mut(path) else { return };
        if notices.contains(Notices::ACCESS_STATE_CHANGED) {
            p.refresh.request_now();
        }
        if notices.contains(Notices::PATH_MARGINAL) && !p.marginal.is_marginal() {
            p.marginal = MarginalState::Marginal {
                recheck_at: Some(now.saturating_add(recheck)),
            };
        }
        let pr = Notices::RESERVATIONS_PREEMPTED
            | Notices::RESERVATIONS_RELEASED
            | Notices::REGISTRATIONS_PREEMPTED;
        if notices.intersects(pr) {
            p.counters.reservation_notices = p.counters.reservation_notices.saturating_add(1);
        }
        if notices.contains(Notices::RESET_OCCURRED) {
            p.counters.resets = p.counters.resets.saturating_add(1);
        }
    }
}

/// `Option<(rank, T)>` helper: is `rank` better than what is held?
trait BetterRank {
    fn is_none_or_worse(&self, rank: u8) -> bool;
}

impl<T> BetterRank for Option<(u8, T)> {
    fn is_none_or_worse(&self, rank: u8) -> bool {
        match self {
            None => true,
            Some((r, _)) => rank < *r,
        }
    }
}
