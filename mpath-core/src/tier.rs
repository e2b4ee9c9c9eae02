//! How usable a path is: the facts that decide it, and the resulting tier.

use crate::access::{AccessClass, AccessState};
use core::fmt;

/// Reachability of a path as the transport and the checker see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Link {
    /// Answers commands.
    Up,
    /// Failed: transport loss, path error, failed probe.
    Down,
    /// Neither: a transition reported by the probe is in progress
    /// (multipathd `PATH_PENDING`). Not used for I/O, but expected back.
    Pending,
}

/// Health beyond reachability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    /// Nothing known against it.
    Healthy,
    /// Its error rate is being measured after repeated I/O errors while its
    /// probes pass. Still used normally, so the sample means something.
    Sampling,
    /// Passes probes but fails I/O (or the transport or an administrator said
    /// so): used only when nothing better is selectable.
    Marginal,
    /// Flap damping holds it out until its recovery time has passed.
    Damped,
}

/// The class of service a path can give now. Selection uses the best
/// non-empty tier only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Tier {
    /// Up, healthy, optimized access.
    Optimized,
    /// Up, healthy, non-optimized (or LBA-dependent) access.
    NonOptimized,
    /// Up and accessible but marginal: last resort.
    Marginal,
    /// Not usable for I/O.
    Ineligible,
}

impl Tier {
    /// Tiers that carry I/O, best first.
    pub const USABLE: [Tier; 3] = [Tier::Optimized, Tier::NonOptimized, Tier::Marginal];

    /// Index into per-tier arrays (`0..4`).
    pub const fn index(self) -> usize {
        match self {
            Tier::Optimized => 0,
            Tier::NonOptimized => 1,
            Tier::Marginal => 2,
            Tier::Ineligible => 3,
        }
    }

    /// Short name for displays.
    pub const fn name(self) -> &'static str {
        match self {
            Tier::Optimized => "optimized",
            Tier::NonOptimized => "non-optimized",
            Tier::Marginal => "marginal",
            Tier::Ineligible => "ineligible",
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Everything that decides a path's tier.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Eligibility {
    /// Reachability.
    pub link: Link,
    /// Failed by an administrator (dm `fail_path`); only an administrator
    /// reinstates it.
    pub admin_failed: bool,
    /// Health.
    pub health: Health,
    /// The group's effective access state.
    pub access: AccessState,
    /// A reservation key is set for the device (the PR admission gate).
    pub key_active: bool,
    /// The path's nexus is known to be registered with that key.
    pub registered: bool,
}

impl Eligibility {
    /// The tier these facts give.
    pub fn tier(&self) -> Tier {
        let reachable = self.link == Link::Up && !self.admin_failed;
        // While a key is set, an unregistered nexus would get RESERVATION
        // CONFLICT for writes (or, worse, succeed under a reservation type
        // that fences non-registrants only partially): keep it out.
        let admitted = !self.key_active || self.registered;
        if !reachable || !admitted || self.health == Health::Damped {
            return Tier::Ineligible;
        }
        let base = match self.access.class() {
            AccessClass::Optimized => Tier::Optimized,
            AccessClass::NonOptimized => Tier::NonOptimized,
            AccessClass::Transitional | AccessClass::Activatable | AccessClass::Unusable => {
                return Tier::Ineligible
            }
        };
        if self.health == Health::Marginal {
            Tier::Marginal
        } else {
            base
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Eligibility = Eligibility {
        link: Link::Up,
        admin_failed: false,
        health: Health::Healthy,
        access: AccessState::Optimized,
        key_active: false,
        registered: false,
    };

    #[test]
    fn tier_table() {
        let cases: &[(Eligibility, Tier, &str)] = &[
            (BASE, Tier::Optimized, "base"),
            (
                Eligibility {
                    access: AccessState::NonOptimized,
                    ..BASE
                },
                Tier::NonOptimized,
                "ano",
            ),
            (
                Eligibility {
                    access: AccessState::LbaDependent,
                    ..BASE
                },
                Tier::NonOptimized,
                "lba dependent",
            ),
            (
                Eligibility {
                    health: Health::Sampling,
                    ..BASE
                },
                Tier::Optimized,
                "sampling keeps its tier",
            ),
            (
                Eligibility {
                    health: Health::Marginal,
                    access: AccessState::NonOptimized,
                    ..BASE
                },
                Tier::Marginal,
                "marginal",
            ),
            (
                Eligibility {
                    health: Health::Marginal,
                    access: AccessState::Standby,
                    ..BASE
                },
                Tier::Ineligible,
                "marginal but standby",
            ),
            (
                Eligibility {
                    health: Health::Damped,
                    ..BASE
                },
                Tier::Ineligible,
                "damped",
            ),
            (
                Eligibility {
                    link: Link::Down,
                    ..BASE
                },
                Tier::Ineligible,
                "down",
            ),
            (
                Eligibility {
                    link: Link::Pending,
                    ..BASE
                },
                Tier::Ineligible,
                "pending",
            ),
            (
                Eligibility {
                    admin_failed: true,
                    ..BASE
                },
                Tier::Ineligible,
                "admin failed",
            ),
            (
                Eligibility {
                    key_active: true,
                    ..BASE
                },
                Tier::Ineligible,
                "pr gate closed",
            ),
            (
                Eligibility {
                    key_active: true,
                    registered: true,
                    ..BASE
                },
                Tier::Optimized,
                "pr gate open",
            ),
            (
                Eligibility {
                    registered: true,
                    ..BASE
                },
                Tier::Optimized,
                "registered without key",
            ),
        ];
        for &(e, want, why) in cases {
            assert_eq!(e.tier(), want, "{why}");
        }
        for state in [
            AccessState::Standby,
            AccessState::Unavailable,
            AccessState::Offline,
            AccessState::Transitioning,
            AccessState::Inaccessible,
            AccessState::PersistentLoss,
            AccessState::Change,
        ] {
            let e = Eligibility {
                access: state,
                ..BASE
            };
            assert_eq!(e.tier(), Tier::Ineligible, "{state}");
        }
    }

    #[test]
    fn tiers_are_ordered_best_first() {
        assert!(Tier::Optimized < Tier::NonOptimized);
        assert!(Tier::NonOptimized < Tier::Marginal);
        assert!(Tier::Marginal < Tier::Ineligible);
        for (i, t) in Tier::USABLE.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
    }
}
