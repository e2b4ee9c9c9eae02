//! Tier computation and publication to the data plane.

use super::{Controller, HeadState};
use crate::access::AccessState;
use crate::bits;
use crate::config::Failback;
use crate::dataplane::DataPlane;
use crate::path::PathId;
use crate::tier::{Eligibility, Health, Tier};
use crate::time::Instant;
use core::borrow::Borrow;

/// What triggered a republish, for followover failback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cause {
    /// A path came back up (probe, reinstate, new path).
    PathUp(PathId),
    /// Anything else (access-state change, health, configuration).
    Other,
    /// A deferred failback is due (manual command, delay over): go to the
    /// best tier without deferring again.
    Failback,
}

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize>
    Controller<D, N, Q, G>
{
    /// The effective access state of a group (optimized if unknown).
    pub(crate) fn effective_access(&self, group: crate::access::GroupId) -> AccessState {
        self.group(group)
            .map_or(AccessState::Optimized, |g| g.effective())
    }

    pub(crate) fn eligibility(&self, slot: usize) -> Option<Eligibility> {
        let p = self.paths.get(slot)?.as_ref()?;
        let health = if p.flap.is_damped() {
            Health::Damped
        } else if p.marginal.is_marginal() {
            Health::Marginal
        } else if p.marginal.is_sampling() {
            Health::Sampling
        } else {
            Health::Healthy
        };
        let access = if p.access_suspect {
            AccessState::Unavailable
        } else {
            self.effective_access(p.spec.group)
        };
        Some(Eligibility {
            link: p.link,
            admin_failed: p.admin_failed,
            health,
            access,
            key_active: self.key_active,
            registered: p.registered,
        })
    }

    /// Recompute every path's tier and publish the selectable mask.
    pub(crate) fn republish(&mut self, now: Instant, cause: Cause) {
        let mut masks = [0u64; 4];
        let mut preferred = 0u64;
        let mut watched = 0u64;
        for slot in 0..N {
            let Some(e) = self.eligibility(slot) else {
                continue;
            };
            let tier = e.tier();
            let Some(p) = self.paths.get_mut(slot).and_then(Option::as_mut) else {
                continue;
            };
            p.tier = tier;
            let bit = bits::bit(slot);
            if let Some(m) = masks.get_mut(tier.index()) {
                *m |= bit;
            }
            if p.marginal.is_sampling() {
                watched |= bit;
            }
            let group = p.spec.group;
            if self.group(group).is_some_and(|g| g.access.preferred) {
                preferred |= bit;
            }
        }
        let tier_mask = |t: Tier| masks.get(t.index()).copied().unwrap_or(0);
        let best = Tier::USABLE.into_iter().find(|&t| tier_mask(t) != 0);

        // Deferred failback: stay on the pinned tier while it has paths.
        let mut chosen = best;
        if let (Some(b), Some(current)) = (best, self.published_tier) {
            if b < current
                && tier_mask(current) != 0
                && self.failback.pinned.is_none()
                && cause != Cause::Failback
            {
                let defer = match self.cfg.failback {
                    Failback::Immediate => false,
                    Failback::Manual => true,
                    Failback::Delayed(d) => {
                        self.failback.release_at = Some(now.saturating_add(d));
                        true
                    }
                    Failback::FollowOver => !self.first_of_group(cause),
                };
                if defer {
                    self.failback.pinned = Some(current);
                    self.counters.failbacks_deferred =
                        self.counters.failbacks_deferred.saturating_add(1);
                }
            }
        }
        if let Some(pin) = self.failback.pinned {
            match best {
                Some(b) if b < pin && tier_mask(pin) != 0 => chosen = Some(pin),
                _ => self.failback = Default::default(),
            }
        }

        let mut mask = chosen.map_or(0, tier_mask);
        // ALUA PREF: among equally good paths, the target's preferred group.
        if mask & preferred != 0 {
            mask &= preferred;
        }
        // An administrator's switch_group overrides the tier order while the
        // group has usable paths.
        if let Some(g) = self.switched_group {
            let usable = masks[..3].iter().fold(0u64, |a, m| a | m);
            let in_group = self
                .paths
                .iter()
                .flatten()
                .filter(|p| p.spec.group == g)
                .fold(0u64, |a, p| a | bits::bit(p.id.slot()));
            let group_usable = usable & in_group;
            if group_usable != 0 {
                // The best tier within the group.
                let within = Tier::USABLE
                    .into_iter()
                    .map(|t| tier_mask(t) & in_group)
                    .find(|&m| m != 0)
                    .unwrap_or(group_usable);
                mask = within;
                chosen = Tier::USABLE
                    .into_iter()
                    .find(|&t| tier_mask(t) & within != 0);
            }
        }

        // What the reservation type allows: under Write Exclusive only the
        // holder's nexus writes, under Exclusive Access it alone reads and
        // writes. Where that leaves out a path of the chosen mask, I/O of
        // that kind goes to the best tier among the paths allowed.
        let allowed = |f: fn(&super::PathRec) -> bool| {
            self.paths
                .iter()
                .flatten()
                .filter(|p| !self.key_active || f(p))
                .fold(0u64, |a, p| a | bits::bit(p.id.slot()))
        };
        let restrict = |mask: u64, allowed: u64| {
            if mask & !allowed == 0 {
                mask
            } else {
                Tier::USABLE
                    .into_iter()
                    .map(|t| tier_mask(t) & allowed)
                    .find(|&m| m != 0)
                    .unwrap_or(0)
            }
        };
        let mut write_mask = restrict(mask, allowed(|p| p.may_write));
        let read_mask = restrict(mask, allowed(|p| p.may_read));
        // Nothing left only because the holder cannot carry I/O: the
        // coordinator moves the reservation to a path that can (or the
        // holder comes back), so I/O waits for that, not for the no-path
        // policy.
        self.pr_waits_for_holder = mask != 0 && (read_mask == 0 || write_mask == 0);
        // The active tier stays the one the paths' states choose: failback
        // and events follow the paths, not the reservation type.
        let chooses = mask != 0;
        mask = read_mask;
        // A moving reservation holds I/O; a fence stops it.
        let held = self.pr_quiesced || self.pr_fenced;
        if held {
            mask = 0;
            write_mask = 0;
        }
        let dp = self.dp.borrow();
        dp.publish_watched(watched);
        dp.publish_masks(mask, write_mask);
        if mask != self.published_mask {
            self.counters.publishes = self.counters.publishes.saturating_add(1);
        }
        self.published_mask = mask;
        self.published_tier = if held || !chooses { None } else { chosen };

        if mask == 0 {
            if self.no_path_since.is_none() {
                self.no_path_since = Some(now);
            }
        } else {
            self.no_path_since = None;
            if self.head == HeadState::Waiting || matches!(self.head, HeadState::Orphaned { .. }) {
                self.head = HeadState::Live;
                self.head_live_report = true;
            }
        }
        self.consider_activation();
    }

    /// Followover: the path that came up is the only usable one of its group.
    fn first_of_group(&self, cause: super::publish::Cause) -> bool {
        let Cause::PathUp(id) = cause else {
            return false;
        };
        let Ok(rec) = self.rec(id) else { return false };
        let group = rec.spec.group;
        !self
            .paths
            .iter()
            .flatten()
            .any(|p| p.id != id && p.spec.group == group && p.tier != Tier::Ineligible)
    }

    /// Manual failback (multipathd `switchgroup` to the best group, dm
    /// failback after `failback manual`): drop any deferred failback.
    pub fn failback(&mut self, now: Instant) -> Result<(), crate::error::Error> {
        self.enter(now)?;
        self.failback = Default::default();
        self.republish(now, Cause::Failback);
        Ok(())
    }
}
