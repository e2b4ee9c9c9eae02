//! What a device reports for an embedder to log or raise, computed from
//! state when polled: nothing is queued, so nothing can be dropped.

use super::Device;
use crate::dataplane::DataPlane;
use crate::path::PathId;
use crate::reservation::PrEvent;
use crate::tier::Tier;
use core::borrow::Borrow;

/// Something an embedder logs or raises (multipathd's "path down",
/// "reinstated", "marginal", "switching to path group", mpathpersist
/// results).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeviceEvent {
    /// The path can no longer carry I/O (link down, failed by hand,
    /// inaccessible, unregistered, damped).
    PathFailed(PathId),
    /// The path carries I/O again, or a new path can, in this tier.
    PathReinstated {
        /// The path.
        path: PathId,
        /// Its tier.
        tier: Tier,
    },
    /// The path is judged marginal: used only as a last resort.
    PathMarginal(PathId),
    /// A usable path moved between the optimized and non-optimized tiers
    /// (an ALUA or ANA change).
    PathTier {
        /// The path.
        path: PathId,
        /// Its new tier.
        tier: Tier,
    },
    /// Selection now uses this tier, or no tier at all (`None`: no path is
    /// selectable; I/O follows the no-path policy).
    ActiveTier(Option<Tier>),
    /// From the reservation coordinator: an operation's result, a fence
    /// after another host's preemption, or a reservation moved after its
    /// holder's nexus died.
    Reservation(PrEvent),
}

impl<D: Borrow<DataPlane<N>>, const N: usize, const Q: usize, const G: usize> Device<D, N, Q, G> {
    /// The next event, or `None`. Reservation events come first, then
    /// each path whose tier differs from the one last reported (slot
    /// order), then the active tier.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        if let Some(e) = self.pr.poll_event() {
            return Some(DeviceEvent::Reservation(e));
        }
        for slot in 0..N {
            let now = self.ctl.path_tier(slot);
            let Some(entry) = self.reported.get_mut(slot) else {
                continue;
            };
            let before = *entry;
            if before == now {
                continue;
            }
            *entry = now;
            let Some((path, tier)) = now else {
                // Removed by the embedder: nothing to tell it.
                continue;
            };
            // A new path (or a new one in a reused slot) starts unusable.
            let was = before
                .filter(|(p, _)| *p == path)
                .map_or(Tier::Ineligible, |(_, t)| t);
            let event = match (was, tier) {
                (_, Tier::Ineligible) => DeviceEvent::PathFailed(path),
                (_, Tier::Marginal) => DeviceEvent::PathMarginal(path),
                (Tier::Ineligible | Tier::Marginal, tier) => {
                    DeviceEvent::PathReinstated { path, tier }
                }
                (_, tier) => DeviceEvent::PathTier { path, tier },
            };
            if was != tier {
                return Some(event);
            }
        }
        let active = self.ctl.active_tier();
        if active != self.reported_active {
            self.reported_active = active;
            return Some(DeviceEvent::ActiveTier(active));
        }
        None
    }
}
