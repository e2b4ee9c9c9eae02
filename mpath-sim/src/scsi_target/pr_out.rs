//! PERSISTENT RESERVE OUT (SPC-4 5.13.7-5.13.11, 6.17).
//!
//! | service action | unregistered nexus | registered, wrong RESERVATION KEY | otherwise |
//! |---|---|---|---|
//! | REGISTER | key must be 0 (else conflict); SA key 0 is a no-op, else register (SPEC_I_PT: also each TransportID's nexus; ALL_TG_PT: every target port) | conflict | SA key 0 unregisters, else changes the key; SPEC_I_PT is 26/00 |
//! | REGISTER AND IGNORE EXISTING KEY | as REGISTER, key ignored; SPEC_I_PT is 26/00 | - | as REGISTER |
//! | RESERVE | conflict | conflict | reserve; same type by a holder is a no-op; anything else held is a conflict |
//! | RELEASE | conflict | conflict | no reservation or not the holder: no-op; other type: 26/04; else release |
//! | CLEAR | conflict | conflict | drop every registration and the reservation |
//! | PREEMPT (AND ABORT) | conflict | conflict | see [`LogicalUnit::preempt`] |
//! | REGISTER AND MOVE | conflict | conflict | holder of a non-all-registrants reservation only (else conflict) |
//!
//! PRgeneration moves on with every REGISTER, REGISTER AND IGNORE EXISTING
//! KEY, CLEAR, PREEMPT, PREEMPT AND ABORT and REGISTER AND MOVE that ends
//! in GOOD, and never with RESERVE or RELEASE (SPC-4 6.17.2, table 171),
//! no-ops included: the table does not except them (LIO does not count a
//! REGISTER of key 0 from an unregistered nexus; this target does).
//!
//! Unit attentions, each to every I_T nexus of the registrations named but
//! the one that sent the command:
//! - RESERVATIONS RELEASED (2A/04): RELEASE of a registrants-only or
//!   all-registrants reservation, and a registrants-only holder
//!   unregistering (to the remaining registrants); PREEMPT that changes the
//!   type (to registrants not preempted).
//! - RESERVATIONS PREEMPTED (2A/03): CLEAR (to every registrant, as SPC-4
//!   5.13.11.2.3 and LIO have it, not RESERVATIONS RELEASED).
//! - REGISTRATIONS PREEMPTED (2A/05): PREEMPT (to the preempted).
//!
//! Corner cases this target decides: a REGISTER with ALL_TG_PT from a nexus
//! whose initiator holds per-port registrations replaces them with the one
//! registration; a SPEC_I_PT TransportID naming an I_T nexus that is
//! already registered is INVALID FIELD IN PARAMETER LIST at that
//! TransportID (one naming the sender is skipped); REGISTER AND MOVE keeps
//! the reservation's type (its CDB TYPE is not used) and leaves an already
//! registered destination's key as it was.

use mpath_scsi::{PrOutAction, PrOutParams, PrType, RegisterAndMoveParams, WireItem};

use super::nexus::Nexus;
use super::reservation::{Holder, Registration, Reservation};
use super::response::{asc, Failure};
use super::LogicalUnit;

/// Byte of the flags (SPEC_I_PT bit 3, ALL_TG_PT bit 2, APTPL bit 0) in the
/// basic parameter list.
const FLAGS_AT: usize = 20;
/// SERVICE ACTION RESERVATION KEY.
const SA_KEY_AT: usize = 8;
/// Where SPEC_I_PT TransportIDs start.
const TRANSPORT_IDS_AT: usize = 28;

impl LogicalUnit {
    pub(super) fn persistent_reserve_out(
        &mut self,
        n: Nexus,
        action: PrOutAction,
        pr_type: Option<PrType>,
        list: &[u8],
    ) -> Result<(), Failure> {
        if action == PrOutAction::RegisterAndMove {
            return self.register_and_move(n, list);
        }
        let p = PrOutParams::parse_bytes(list).map_err(Failure::from_param_error)?;
        // SPC-4 6.17.3: SPEC_I_PT is for REGISTER only.
        if p.spec_i_pt && action != PrOutAction::Register {
            return Err(Failure::invalid_param(FLAGS_AT, Some(3)));
        }
        let own = self.pr.index_of(n);
        if matches!(
            action,
            PrOutAction::Register | PrOutAction::RegisterAndIgnoreExistingKey
        ) {
            let ignore = action == PrOutAction::RegisterAndIgnoreExistingKey;
            return self.register(n, own, &p, ignore);
        }
        match own.and_then(|i| self.pr.registrations.get(i)) {
            Some(r) if r.key == p.key => {}
            _ => return Err(Failure::Conflict),
        }
        match action {
            PrOutAction::Reserve => self.reserve(n, pr_type),
            PrOutAction::Release => self.release(n, pr_type),
            PrOutAction::Clear => {
                self.clear(n);
                Ok(())
            }
            _ => self.preempt(n, p.sa_key, pr_type, action == PrOutAction::PreemptAndAbort),
        }
    }

    fn register(
        &mut self,
        n: Nexus,
        own: Option<usize>,
        p: &PrOutParams<'_>,
        ignore: bool,
    ) -> Result<(), Failure> {
        let Some(i) = own else {
            if !ignore && p.key != 0 {
                return Err(Failure::Conflict);
            }
            if p.sa_key != 0 {
                self.register_new(n, p)?;
                self.pr.aptpl = p.aptpl;
            }
            self.pr.bump();
            return Ok(());
        };
        let current = self.pr.registrations.get(i).map(|r| r.key);
        if !ignore && current != Some(p.key) {
            return Err(Failure::Conflict);
        }
        if p.spec_i_pt {
            return Err(Failure::invalid_param(FLAGS_AT, Some(3)));
        }
        if p.sa_key == 0 {
            self.unregister(n, i);
        } else {
            if let Some(r) = self.pr.registrations.get_mut(i) {
                r.key = p.sa_key;
            }
            self.pr.aptpl = p.aptpl;
        }
        self.pr.bump();
        Ok(())
    }

    /// Register an unregistered nexus (and SPEC_I_PT's), all or nothing.
    fn register_new(&mut self, n: Nexus, p: &PrOutParams<'_>) -> Result<(), Failure> {
        let port = (!p.all_tg_pt).then_some(n.port);
        let mut more: Vec<Registration> = Vec::new();
        if p.spec_i_pt {
            let mut at = TRANSPORT_IDS_AT;
            for id in p.transport_ids.iter() {
                let initiator = self
                    .initiators
                    .intern(&id)
                    .map_err(|_| Failure::invalid_param(at, None))?;
                let r = Registration {
                    initiator,
                    port,
                    key: p.sa_key,
                };
                let named = match port {
                    Some(pt) => vec![Nexus::new(initiator, pt)],
                    None => self.nexuses_of(&r),
                };
                if named.iter().any(|&x| self.pr.index_of(x).is_some()) {
                    return Err(Failure::invalid_param(at, None));
                }
                if initiator != n.initiator && !more.iter().any(|m| m.initiator == initiator) {
                    more.push(r);
                }
                at = at.saturating_add(id.encoded_len());
            }
        }
        if p.all_tg_pt {
            // The new registration covers every port: per-port ones of the
            // same initiator port are subsumed.
            self.pr.registrations.retain(|r| r.initiator != n.initiator);
        }
        self.pr.registrations.push(Registration {
            initiator: n.initiator,
            port,
            key: p.sa_key,
        });
        self.pr.registrations.extend(more);
        Ok(())
    }

    /// Remove registration `i` (SPC-4 5.13.11.3): a holder loses its
    /// reservation, and a registrants-only one tells the other registrants.
    fn unregister(&mut self, n: Nexus, i: usize) {
        if i >= self.pr.registrations.len() {
            return;
        }
        let gone = self.pr.registrations.remove(i);
        let before = self.pr.reservation;
        self.pr.drop_orphan_reservation();
        let released_ro = matches!(
            before,
            Some(Reservation {
                pr_type: PrType::WriteExclusiveRegistrantsOnly
                    | PrType::ExclusiveAccessRegistrantsOnly,
                holder: Holder::Nexus(h),
            }) if gone.covers(h)
        );
        if released_ro {
            let others = self.pr.registrations.clone();
            for r in &others {
                self.ua_registration(r, asc::RESERVATIONS_RELEASED, n);
            }
        }
    }

    fn reserve(&mut self, n: Nexus, pr_type: Option<PrType>) -> Result<(), Failure> {
        let t = pr_type.ok_or(Failure::invalid_cdb(2, Some(3)))?;
        match self.pr.reservation {
            None => {
                self.pr.reservation = Some(Reservation::by(n, t));
                Ok(())
            }
            Some(r) if r.pr_type == t && self.pr.is_holder(n) => Ok(()),
            Some(_) => Err(Failure::Conflict),
        }
    }

    fn release(&mut self, n: Nexus, pr_type: Option<PrType>) -> Result<(), Failure> {
        let Some(r) = self.pr.reservation else {
            return Ok(());
        };
        if !self.pr.is_holder(n) {
            return Ok(());
        }
        if pr_type != Some(r.pr_type) {
            return Err(Failure::illegal(asc::INVALID_RELEASE));
        }
        self.pr.reservation = None;
        let tell = !matches!(r.pr_type, PrType::WriteExclusive | PrType::ExclusiveAccess);
        if tell {
            let others = self.pr.registrations.clone();
            for reg in &others {
                self.ua_registration(reg, asc::RESERVATIONS_RELEASED, n);
            }
        }
        Ok(())
    }

    fn clear(&mut self, n: Nexus) {
        let all = core::mem::take(&mut self.pr.registrations);
        self.pr.reservation = None;
        for r in &all {
            self.ua_registration(r, asc::RESERVATIONS_PREEMPTED, n);
        }
        self.pr.bump();
    }

    /// PREEMPT and PREEMPT AND ABORT (SPC-4 5.13.11.4, 5.13.11.5):
    /// - an all-registrants reservation and SA key 0: every other
    ///   registration goes and the sender reserves with the CDB's TYPE;
    /// - SA key is the holder's (the sender's own included): the
    ///   registrations with that key but the sender's go, and the sender
    ///   reserves with the CDB's TYPE (RESERVATIONS RELEASED to the rest if
    ///   the type changed);
    /// - otherwise SA key 0 is INVALID FIELD IN PARAMETER LIST, and the
    ///   registrations with the SA key go, the sender's own too, the
    ///   reservation unchanged; none with that key is a conflict.
    ///
    /// With ABORT the preempted nexuses are listed for
    /// [`LogicalUnit::take_aborted`].
    pub(super) fn preempt(
        &mut self,
        n: Nexus,
        sa_key: u64,
        pr_type: Option<PrType>,
        abort: bool,
    ) -> Result<(), Failure> {
        let res = self.pr.reservation;
        let own = self.pr.index_of(n);
        let need_type = || pr_type.ok_or(Failure::invalid_cdb(2, Some(3)));
        let removed: Vec<Registration> = match res {
            Some(r) if r.pr_type.all_registrants() && sa_key == 0 => {
                let t = need_type()?;
                let removed = self.take_registrations(|i, _| Some(i) != own);
                self.pr.reservation = Some(Reservation::by(n, t));
                removed
            }
            Some(r) if !r.pr_type.all_registrants() && self.pr.holder_key() == Some(sa_key) => {
                let t = need_type()?;
                let removed = self.take_registrations(|i, x| x.key == sa_key && Some(i) != own);
                self.pr.reservation = Some(Reservation::by(n, t));
                if t != r.pr_type {
                    let others = self.pr.registrations.clone();
                    for reg in &others {
                        self.ua_registration(reg, asc::RESERVATIONS_RELEASED, n);
                    }
                }
                removed
            }
            _ => {
                if sa_key == 0 {
                    return Err(Failure::invalid_param(SA_KEY_AT, None));
                }
                if !self.pr.registrations.iter().any(|x| x.key == sa_key) {
                    return Err(Failure::Conflict);
                }
                let removed = self.take_registrations(|_, x| x.key == sa_key);
                self.pr.drop_orphan_reservation();
                removed
            }
        };
        for r in &removed {
            self.ua_registration(r, asc::REGISTRATIONS_PREEMPTED, n);
            if abort {
                let victims: Vec<Nexus> =
                    self.nexuses_of(r).into_iter().filter(|&x| x != n).collect();
                self.aborted.extend(victims);
            }
        }
        self.pr.bump();
        Ok(())
    }

    /// Remove and return the registrations `pick` selects (by index and
    /// value), keeping the order of the rest.
    fn take_registrations(
        &mut self,
        pick: impl Fn(usize, &Registration) -> bool,
    ) -> Vec<Registration> {
        let all = core::mem::take(&mut self.pr.registrations);
        let (gone, keep): (Vec<_>, Vec<_>) =
            all.into_iter().enumerate().partition(|(i, r)| pick(*i, r));
        self.pr.registrations = keep.into_iter().map(|(_, r)| r).collect();
        gone.into_iter().map(|(_, r)| r).collect()
    }

    /// REGISTER AND MOVE (SPC-4 5.13.8).
    fn register_and_move(&mut self, n: Nexus, list: &[u8]) -> Result<(), Failure> {
        let p = RegisterAndMoveParams::parse_bytes(list).map_err(Failure::from_param_error)?;
        match self.pr.key_of(n) {
            Some(k) if k == p.key => {}
            _ => return Err(Failure::Conflict),
        }
        if p.sa_key == 0 {
            return Err(Failure::invalid_param(SA_KEY_AT, None));
        }
        let Some(res) = self.pr.reservation else {
            return Err(Failure::Conflict);
        };
        if res.pr_type.all_registrants() || !self.pr.is_holder(n) {
            return Err(Failure::Conflict);
        }
        if !self.topology.has_port(p.relative_target_port) {
            return Err(Failure::invalid_param(18, None));
        }
        let initiator = self
            .initiators
            .intern(&p.transport_id)
            .map_err(|_| Failure::invalid_param(24, None))?;
        let dest = Nexus::new(initiator, p.relative_target_port);
        if dest == n {
            return Err(Failure::invalid_param(24, None));
        }
        if self.pr.index_of(dest).is_none() {
            self.pr.registrations.push(Registration {
                initiator,
                port: Some(dest.port),
                key: p.sa_key,
            });
        }
        self.pr.reservation = Some(Reservation {
            holder: Holder::Nexus(dest),
            pr_type: res.pr_type,
        });
        if p.unreg {
            if let Some(i) = self.pr.index_of(n) {
                self.pr.registrations.remove(i);
            }
            self.pr.drop_orphan_reservation();
        }
        self.pr.aptpl = p.aptpl;
        self.pr.bump();
        Ok(())
    }
}
