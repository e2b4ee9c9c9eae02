// SPDX-License-Identifier: GPL-2.0

//! The far end of the self-test's paths: a logical unit with two target
//! port groups and SPC-4 persistent-reservation state, one I_T nexus per
//! path slot. It answers what the device asks (probes, access-state
//! re-reads, reservation commands) the way a device server would, in
//! fixed-size state (nothing here allocates).

use mpath_core::reservation::{PrCommand, PrReply, PrType};
use mpath_core::{AccessState, GroupAccess, GroupId, PathId};

/// Path slots, and so I_T nexuses, the model knows.
pub(crate) const NEXUSES: usize = 4;

/// The two target port groups' ids (group 1 and group 2).
pub(crate) const GROUPS: [GroupId; 2] = [GroupId(1), GroupId(2)];

/// A logical unit as the self-test's paths see it.
pub(crate) struct Lun {
    /// Access state per group of [`GROUPS`].
    pub(crate) access: [AccessState; 2],
    /// Registered key per nexus; 0 is "not registered" (SPC-4 does not
    /// allow key 0 to be registered).
    pub(crate) keys: [u64; NEXUSES],
    /// The reservation: holder nexus, its key, type.
    pub(crate) resv: Option<(usize, u64, PrType)>,
    /// Nexuses that do not answer (bit per nexus): probes say down,
    /// commands fail at the transport.
    pub(crate) down: u32,
}

impl Lun {
    /// Group 1 active/optimized, group 2 active/non-optimized, nothing
    /// registered, every nexus up.
    pub(crate) const fn new() -> Self {
        Lun {
            access: [AccessState::Optimized, AccessState::NonOptimized],
            keys: [0; NEXUSES],
            resv: None,
            down: 0,
        }
    }

    /// The I_T nexus behind a path: one per slot.
    pub(crate) fn nexus(path: PathId) -> usize {
        path.slot()
    }

    /// Whether `nexus` answers.
    pub(crate) fn is_up(&self, nexus: usize) -> bool {
        self.down & (1 << nexus) == 0
    }

    /// What a REPORT TARGET PORT GROUPS would say of group `k`.
    pub(crate) fn group(&self, k: usize) -> (GroupId, GroupAccess) {
        let state = self
            .access
            .get(k)
            .copied()
            .unwrap_or(AccessState::Unavailable);
        let id = GROUPS.get(k).copied().unwrap_or(GroupId(0));
        (id, GroupAccess::new(state))
    }

    /// The key `nexus` is registered with, if any.
    pub(crate) fn key_of(&self, nexus: usize) -> Option<u64> {
        self.keys.get(nexus).copied().filter(|&k| k != 0)
    }

    /// Carry out one reservation command arriving on `nexus`. `ours` is
    /// the key READ KEYS counts as the host's.
    pub(crate) fn exec(&mut self, nexus: usize, command: PrCommand, ours: u64) -> PrReply {
        if !self.is_up(nexus) || nexus >= NEXUSES {
            return PrReply::PathFailed;
        }
        let registered = self.key_of(nexus);
        let reply = match command {
            PrCommand::Register { key } => {
                self.set_key(nexus, key);
                PrReply::Done
            }
            PrCommand::Unregister => {
                self.set_key(nexus, 0);
                PrReply::Done
            }
            PrCommand::ReadKeys => PrReply::Keys {
                ours: count(self.keys.iter().filter(|&&k| k == ours)),
                total: count(self.keys.iter().filter(|&&k| k != 0)),
                // READ KEYS names no nexus.
                here: None,
            },
            PrCommand::ReadReservation => PrReply::Reservation(
                self.resv
                    // SPC-4 6.16.3: all-registrants types report key 0.
                    .map(|(_, k, t)| (if t.all_registrants() { 0 } else { k }, t)),
            ),
            PrCommand::Reserve { key, rtype } if registered == Some(key) => match self.resv {
                None => {
                    self.resv = Some((nexus, key, rtype));
                    PrReply::Done
                }
                Some((h, _, t)) if h == nexus && t == rtype => PrReply::Done,
                Some(_) => PrReply::Conflict,
            },
            PrCommand::Release { key, rtype } if registered == Some(key) => match self.resv {
                Some((h, _, t)) if h == nexus || t.all_registrants() => {
                    if t == rtype {
                        self.resv = None;
                        PrReply::Done
                    } else {
                        PrReply::Refused
                    }
                }
                // Releasing what another nexus holds releases nothing, and
                // is GOOD (SPC-4 5.13.10.2).
                _ => PrReply::Done,
            },
            PrCommand::Preempt {
                key, victim, rtype, ..
            } if registered == Some(key) => self.preempt(nexus, key, victim, rtype),
            PrCommand::Clear { key } if registered == Some(key) => {
                self.keys = [0; NEXUSES];
                self.resv = None;
                PrReply::Done
            }
            // The self-test moves nothing to another host.
            PrCommand::RegisterAndMove { .. } => PrReply::Refused,
            // Reserve, release, preempt and clear from a nexus not
            // registered with the key given.
            _ => PrReply::Conflict,
        };
        self.settle();
        reply
    }

    /// PREEMPT: remove the victim key's registrations (all but the
    /// sender's), and take the reservation if the victim held it (SPC-4
    /// 5.13.11.4; all-registrants types only with victim 0).
    fn preempt(&mut self, nexus: usize, key: u64, victim: u64, rtype: PrType) -> PrReply {
        let takes = match self.resv {
            Some((_, _, t)) if t.all_registrants() => victim == 0,
            Some((_, k, _)) => k == victim,
            None => false,
        };
        if victim == 0 && !takes {
            return PrReply::Refused;
        }
        for (n, k) in self.keys.iter_mut().enumerate() {
            let removed = (takes && victim == 0) || *k == victim;
            if n != nexus && removed {
                *k = 0;
            }
        }
        if takes {
            self.resv = Some((nexus, key, rtype));
        }
        PrReply::Done
    }

    /// A single-holder reservation goes with its holder's registration
    /// (SPC-4 5.13.11), an all-registrants one with the last registration.
    fn settle(&mut self) {
        if let Some((h, _, t)) = self.resv {
            let gone = if t.all_registrants() {
                self.keys.iter().all(|&k| k == 0)
            } else {
                self.key_of(h).is_none()
            };
            if gone {
                self.resv = None;
            }
        }
    }

    fn set_key(&mut self, nexus: usize, key: u64) {
        if let Some(k) = self.keys.get_mut(nexus) {
            *k = key;
        }
    }
}

fn count<'a>(keys: impl Iterator<Item = &'a u64>) -> u32 {
    u32::try_from(keys.count()).unwrap_or(u32::MAX)
}
