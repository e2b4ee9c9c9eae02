//! The persistent reservation state of the logical unit (SPC-4 5.13):
//! registrations, the reservation and its holder, PRgeneration and APTPL,
//! and which commands conflict with the reservation.
//!
//! A registration made with ALL_TG_PT is kept as one [`Registration`] with
//! no target port: it registers the initiator port through every target
//! port (SPC-4 5.13.4), and is changed or removed as a whole from any of
//! those I_T nexuses, and reported as one key and one READ FULL STATUS
//! descriptor with ALL_TG_PT set. The holder of a reservation that is not
//! of an all-registrants type is one I_T nexus (SPC-4 5.13.9), even when
//! its registration covers every target port: the same host's I/O through
//! another port is not the holder's. Linux LIO is looser (it compares the
//! initiator and ISID only); this target follows the standard, which is
//! the stricter test of a host.
//!
//! # Conflicts (SPC-4 5.13.1 table 62, SBC-3 4.17 table 13)
//!
//! For an I_T nexus that is not the holder:
//!
//! | command | WE | EA | WE_RO, WE_AR registered | EA_RO, EA_AR registered | WE_RO, WE_AR not registered | EA_RO, EA_AR not registered |
//! |---|---|---|---|---|---|---|
//! | READ | allowed | conflict | allowed | allowed | allowed | conflict |
//! | WRITE, SET TARGET PORT GROUPS | conflict | conflict | allowed | allowed | conflict | conflict |
//! | TEST UNIT READY, INQUIRY, REPORT LUNS, REQUEST SENSE, REPORT TARGET PORT GROUPS, READ CAPACITY, PERSISTENT RESERVE IN | allowed | allowed | allowed | allowed | allowed | allowed |
//!
//! PERSISTENT RESERVE OUT has its own rules (`pr_out.rs`). Under an
//! all-registrants type every registered nexus is a holder, so the
//! registered columns of those types never conflict.

use mpath_scsi::PrType;

use super::nexus::{InitiatorId, Nexus};

/// One registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Registration {
    /// The registered initiator port.
    pub initiator: InitiatorId,
    /// The target port, or `None` when registered with ALL_TG_PT (every
    /// target port).
    pub port: Option<u16>,
    /// The reservation key.
    pub key: u64,
}

impl Registration {
    /// Whether this registration registers `n`.
    pub fn covers(&self, n: Nexus) -> bool {
        self.initiator == n.initiator && self.port.map_or(true, |p| p == n.port)
    }

    /// Whether it was made with ALL_TG_PT.
    pub fn all_tg_pt(&self) -> bool {
        self.port.is_none()
    }
}

/// Who holds the reservation (SPC-4 5.13.9).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    /// The I_T nexus that reserved (or preempted, or was moved to).
    Nexus(Nexus),
    /// Every registered I_T nexus (the all-registrants types).
    AllRegistrants,
}

/// The persistent reservation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reservation {
    /// The holder.
    pub holder: Holder,
    /// TYPE (SCOPE is always LU_SCOPE).
    pub pr_type: PrType,
}

impl Reservation {
    /// The reservation `nexus` makes of type `t`.
    pub fn by(nexus: Nexus, t: PrType) -> Self {
        Reservation {
            holder: if t.all_registrants() {
                Holder::AllRegistrants
            } else {
                Holder::Nexus(nexus)
            },
            pr_type: t,
        }
    }
}

/// How a command touches the medium, for the conflict table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Never conflicts.
    Unrestricted,
    /// Reads (READ).
    Read,
    /// Writes, or changes the logical unit (WRITE, SET TARGET PORT GROUPS).
    Write,
}

/// Registrations, reservation, PRgeneration, APTPL.
#[derive(Clone, Debug, Default)]
pub(crate) struct PrState {
    /// In the order made: READ KEYS and READ FULL STATUS list them so.
    pub(crate) registrations: Vec<Registration>,
    pub(crate) reservation: Option<Reservation>,
    pub(crate) generation: u32,
    /// The APTPL of the last successful register action (SPC-4 5.13.5).
    pub(crate) aptpl: bool,
}

impl PrState {
    /// The index of the registration that registers `n`.
    pub(crate) fn index_of(&self, n: Nexus) -> Option<usize> {
        self.registrations.iter().position(|r| r.covers(n))
    }

    /// The key `n` is registered with.
    pub(crate) fn key_of(&self, n: Nexus) -> Option<u64> {
        self.registrations
            .iter()
            .find(|r| r.covers(n))
            .map(|r| r.key)
    }

    /// Whether `n` holds the reservation.
    pub(crate) fn is_holder(&self, n: Nexus) -> bool {
        match self.reservation.map(|r| r.holder) {
            Some(Holder::Nexus(h)) => h == n,
            Some(Holder::AllRegistrants) => self.index_of(n).is_some(),
            None => false,
        }
    }

    /// Whether registration `r` is (or includes) the holder: READ FULL
    /// STATUS's R_HOLDER.
    pub(crate) fn holds(&self, r: &Registration) -> bool {
        match self.reservation.map(|x| x.holder) {
            Some(Holder::Nexus(h)) => r.covers(h),
            Some(Holder::AllRegistrants) => true,
            None => false,
        }
    }

    /// The holder's key: zero for the all-registrants types (SPC-4 6.16.3).
    pub(crate) fn holder_key(&self) -> Option<u64> {
        match self.reservation?.holder {
            Holder::Nexus(h) => self.key_of(h),
            Holder::AllRegistrants => Some(0),
        }
    }

    /// Whether `n`'s command of kind `access` conflicts with the
    /// reservation (the table in the module docs).
    pub(crate) fn conflicts(&self, n: Nexus, access: Access) -> bool {
        let Some(res) = self.reservation else {
            return false;
        };
        if access == Access::Unrestricted || self.is_holder(n) {
            return false;
        }
        let registered = self.index_of(n).is_some();
        match res.pr_type {
            PrType::WriteExclusive => access == Access::Write,
            PrType::ExclusiveAccess => true,
            PrType::WriteExclusiveRegistrantsOnly | PrType::WriteExclusiveAllRegistrants => {
                !registered && access == Access::Write
            }
            PrType::ExclusiveAccessRegistrantsOnly | PrType::ExclusiveAccessAllRegistrants => {
                !registered
            }
        }
    }

    /// PRgeneration moves on (a 32-bit wrapping counter, SPC-4 6.16.2).
    pub(crate) fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Drop a reservation whose holder has no registration left: a holder
    /// that is unregistered or preempted loses its reservation (SPC-4
    /// 5.13.11.3), and an all-registrants reservation ends with its last
    /// registrant.
    pub(crate) fn drop_orphan_reservation(&mut self) {
        let orphan = match self.reservation.map(|r| r.holder) {
            Some(Holder::Nexus(h)) => self.index_of(h).is_none(),
            Some(Holder::AllRegistrants) => self.registrations.is_empty(),
            None => false,
        };
        if orphan {
            self.reservation = None;
        }
    }

    /// Power loss: without APTPL the registrations and the reservation go
    /// (SPC-4 5.13.5), and PRgeneration starts again at zero with the
    /// fresh state; with APTPL both survive and so does the counter that
    /// versions them.
    pub(crate) fn power_loss(&mut self) {
        if !self.aptpl {
            *self = PrState::default();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A1: Nexus = Nexus::new(InitiatorId(0), 1);
    const A2: Nexus = Nexus::new(InitiatorId(0), 2);
    const B1: Nexus = Nexus::new(InitiatorId(1), 1);
    const C1: Nexus = Nexus::new(InitiatorId(2), 1);

    /// A holds type `t` through port 1, registered on every port; B is
    /// registered on port 1; C is not registered.
    fn state(t: PrType) -> PrState {
        PrState {
            registrations: vec![
                Registration {
                    initiator: InitiatorId(0),
                    port: None,
                    key: 0xA,
                },
                Registration {
                    initiator: InitiatorId(1),
                    port: Some(1),
                    key: 0xB,
                },
            ],
            reservation: Some(Reservation::by(A1, t)),
            ..PrState::default()
        }
    }

    #[test]
    fn the_conflict_table() {
        use Access::{Read, Unrestricted, Write};
        // (type, registered read, registered write, unregistered read, unregistered write)
        let table = [
            (PrType::WriteExclusive, true, false, true, false),
            (PrType::ExclusiveAccess, false, false, false, false),
            (
                PrType::WriteExclusiveRegistrantsOnly,
                true,
                true,
                true,
                false,
            ),
            (
                PrType::ExclusiveAccessRegistrantsOnly,
                true,
                true,
                false,
                false,
            ),
            (
                PrType::WriteExclusiveAllRegistrants,
                true,
                true,
                true,
                false,
            ),
            (
                PrType::ExclusiveAccessAllRegistrants,
                true,
                true,
                false,
                false,
            ),
        ];
        for (t, rr, rw, ur, uw) in table {
            let s = state(t);
            assert!(!s.conflicts(A1, Write) && !s.conflicts(A1, Read), "{t:?}");
            assert_eq!(!s.conflicts(B1, Read), rr, "{t:?}");
            assert_eq!(!s.conflicts(B1, Write), rw, "{t:?}");
            assert_eq!(!s.conflicts(C1, Read), ur, "{t:?}");
            assert_eq!(!s.conflicts(C1, Write), uw, "{t:?}");
            assert!(!s.conflicts(C1, Unrestricted));
            // A through port 2: registered (ALL_TG_PT), a holder only for
            // the all-registrants types.
            assert_eq!(!s.conflicts(A2, Write), rw, "{t:?}");
        }
    }

    #[test]
    fn holder_and_keys() {
        let s = state(PrType::WriteExclusive);
        assert!(s.is_holder(A1) && !s.is_holder(A2) && !s.is_holder(B1));
        assert_eq!(s.holder_key(), Some(0xA));
        assert!(s.holds(&s.registrations[0]) && !s.holds(&s.registrations[1]));
        let s = state(PrType::ExclusiveAccessAllRegistrants);
        assert!(s.is_holder(A2) && s.is_holder(B1) && !s.is_holder(C1));
        assert_eq!(s.holder_key(), Some(0));
        assert_eq!(s.key_of(A2), Some(0xA));
        assert_eq!(s.key_of(C1), None);
    }

    #[test]
    fn orphan_and_power_loss() {
        let mut s = state(PrType::WriteExclusive);
        s.registrations.remove(0);
        s.drop_orphan_reservation();
        assert_eq!(s.reservation, None);
        let mut s = state(PrType::WriteExclusiveAllRegistrants);
        s.registrations.remove(0);
        s.drop_orphan_reservation();
        assert!(s.reservation.is_some());
        s.generation = 5;
        s.aptpl = true;
        s.power_loss();
        assert_eq!((s.generation, s.registrations.len()), (5, 1));
        s.aptpl = false;
        s.power_loss();
        assert_eq!(
            (s.generation, s.registrations.len(), s.reservation),
            (0, 0, None)
        );
    }
}
