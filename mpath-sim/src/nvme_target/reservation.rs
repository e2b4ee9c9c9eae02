//! One namespace's reservation state and the rules that change it (Base 2.0
//! "Reservations" and the four Reservation commands).
//!
//! Registrations belong to hosts (their Host Identifier), not to
//! controllers: a host registers once per namespace through any of its
//! controllers and all of them share the registration and any reservation
//! it holds. With an all-registrants type every registrant is a holder;
//! otherwise one host is.
//!
//! Where the specification leaves room, the rules follow Linux's NVMe
//! target (drivers/nvme/target/pr.c, `nvmet_pr_*`), the implementation
//! hosts are tested against, except where noted:
//! - a Release whose RTYPE differs from the reservation's is Invalid Field
//!   in Command, as Base 2.0 "Releasing a Reservation" says (nvmet answers
//!   Reservation Conflict);
//! - Preempt and Abort asks the engine to abort the preempted hosts'
//!   commands (not the preempting host's own);
//! - a holder's Preempt with another registrant's key removes that
//!   registration ("Preempting a Reservation or Registration"); nvmet
//!   only changes the type when the holder preempts, whatever PRKEY says.
//!
//! Each command returns the [`Effects`] to carry out: reservation
//! notifications for other hosts and hosts whose commands to abort. The
//! state here knows nothing of controllers.

use mpath_nvme::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReleaseAction, ReservationAcquire, ReservationRegister,
    ReservationRelease, ReservationType,
};
use mpath_nvme::resv_notification::NotificationType;
use mpath_nvme::status::StatusCode;

use super::topology::HostIdentifier;

/// A host's registration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Registrant {
    /// The host.
    pub host: HostIdentifier,
    /// Its reservation key.
    pub key: u64,
}

/// The reservation on a namespace, as the truth accessors give it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeldReservation {
    /// Its type.
    pub rtype: ReservationType,
    /// The holder; `None` for the all-registrants types, which every
    /// registrant holds.
    pub holder: Option<HostIdentifier>,
}

/// Which command group an I/O command belongs to for reservation checks
/// (Base 2.0 figure "Command Behavior in the Presence of a Reservation":
/// Read belongs to the read group; Write and Flush to the write group).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AccessKind {
    /// Read command group.
    Read,
    /// Write command group.
    Write,
}

/// What a successful reservation command asks of the subsystem.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Effects {
    /// Notifications to post to every controller of each host, in order.
    pub notify: Vec<(HostIdentifier, NotificationType)>,
    /// Hosts whose outstanding commands to abort (Preempt and Abort).
    pub abort: Vec<HostIdentifier>,
}

/// A refused command: the status to complete it with (DNR always set).
pub type Refusal = StatusCode;

fn all_registrants(t: ReservationType) -> bool {
    matches!(
        t,
        ReservationType::WriteExclusiveAllRegistrants
            | ReservationType::ExclusiveAccessAllRegistrants
    )
}

fn registrants_only(t: ReservationType) -> bool {
    matches!(
        t,
        ReservationType::WriteExclusiveRegistrantsOnly
            | ReservationType::ExclusiveAccessRegistrantsOnly
    )
}

/// The reservation state of one namespace.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReservationState {
    /// GEN: wraps; incremented by every successful Register command,
    /// Preempt, Preempt and Abort and Clear.
    generation: u32,
    /// PTPLS: registrations and the reservation survive power loss.
    ptpl: bool,
    /// In registration order (the report lists them so).
    registrants: Vec<Registrant>,
    /// The type and the registrant holding it. For the all-registrants
    /// types the host is only the one the reservation is kept under: every
    /// registrant holds it, and it passes to another when that one leaves.
    reservation: Option<(ReservationType, HostIdentifier)>,
}

const CONFLICT: Refusal = StatusCode::RESERVATION_CONFLICT;
const INVALID_FIELD: Refusal = StatusCode::INVALID_FIELD;

impl ReservationState {
    /// GEN.
    pub fn generation(&self) -> u32 {
        self.generation
    }

    /// PTPLS.
    pub fn ptpl(&self) -> bool {
        self.ptpl
    }

    /// Every registration, in registration order.
    pub fn registrants(&self) -> &[Registrant] {
        &self.registrants
    }

    /// `host`'s key, if registered.
    pub fn key_of(&self, host: HostIdentifier) -> Option<u64> {
        self.registrants
            .iter()
            .find(|r| r.host == host)
            .map(|r| r.key)
    }

    /// The reservation, if any.
    pub fn reservation(&self) -> Option<HeldReservation> {
        self.reservation.map(|(rtype, host)| HeldReservation {
            rtype,
            holder: (!all_registrants(rtype)).then_some(host),
        })
    }

    /// Whether `host` holds the reservation.
    pub fn is_holder(&self, host: HostIdentifier) -> bool {
        match self.reservation {
            None => false,
            Some((t, _)) if all_registrants(t) => self.key_of(host).is_some(),
            Some((_, h)) => h == host,
        }
    }

    /// Whether a command of `kind` from `host` may run, per the figure
    /// "Command Behavior in the Presence of a Reservation":
    ///
    /// | type | holder | registrant read/write | non-registrant read/write |
    /// |---|---|---|---|
    /// | Write Exclusive | all | yes / no | yes / no |
    /// | Exclusive Access | all | no / no | no / no |
    /// | WE Registrants Only, WE All Registrants | all | yes / yes | yes / no |
    /// | EA Registrants Only, EA All Registrants | all | yes / yes | no / no |
    pub fn check_access(&self, host: HostIdentifier, kind: AccessKind) -> Result<(), Refusal> {
        let Some((t, _)) = self.reservation else {
            return Ok(());
        };
        if self.is_holder(host) {
            return Ok(());
        }
        let registered = self.key_of(host).is_some();
        let allowed = match (t, kind) {
            (ReservationType::WriteExclusive, AccessKind::Read) => true,
            (ReservationType::WriteExclusive, AccessKind::Write) => false,
            (ReservationType::ExclusiveAccess, _) => false,
            (
                ReservationType::WriteExclusiveRegistrantsOnly
                | ReservationType::WriteExclusiveAllRegistrants,
                AccessKind::Read,
            ) => true,
            (
                ReservationType::WriteExclusiveRegistrantsOnly
                | ReservationType::WriteExclusiveAllRegistrants,
                AccessKind::Write,
            ) => registered,
            (
                ReservationType::ExclusiveAccessRegistrantsOnly
                | ReservationType::ExclusiveAccessAllRegistrants,
                _,
            ) => registered,
        };
        if allowed {
            Ok(())
        } else {
            Err(CONFLICT)
        }
    }

    fn bump(&mut self) {
        self.generation = self.generation.wrapping_add(1);
    }

    /// Reservation Register from `host`.
    pub(crate) fn register(
        &mut self,
        host: HostIdentifier,
        cmd: &ReservationRegister,
    ) -> Result<Effects, Refusal> {
        let mut fx = Effects::default();
        let current = self.key_of(host);
        match cmd.action {
            // Registering again with the same key is a no-op success; with
            // another key it is a conflict (Replace changes keys).
            RegisterAction::Register => match current {
                Some(k) if k == cmd.nrkey => {}
                Some(_) => return Err(CONFLICT),
                None => self.registrants.push(Registrant {
                    host,
                    key: cmd.nrkey,
                }),
            },
            RegisterAction::Unregister => match current {
                Some(k) if cmd.iekey || k == cmd.crkey => self.unregister_one(host, &mut fx),
                _ => return Err(CONFLICT),
            },
            RegisterAction::Replace => match current {
                Some(k) if cmd.iekey || k == cmd.crkey => {
                    if let Some(r) = self.registrants.iter_mut().find(|r| r.host == host) {
                        r.key = cmd.nrkey;
                    }
                }
                _ => return Err(CONFLICT),
            },
        }
        match cmd.cptpl {
            Cptpl::NoChange => {}
            Cptpl::Clear => self.ptpl = false,
            Cptpl::Persist => self.ptpl = true,
        }
        self.bump();
        Ok(fx)
    }

    /// Removes `host`'s registration and what it held.
    fn unregister_one(&mut self, host: HostIdentifier, fx: &mut Effects) {
        self.registrants.retain(|r| r.host != host);
        let Some((t, kept_under)) = self.reservation else {
            return;
        };
        if all_registrants(t) {
            // Held by every registrant: it lasts while one is left.
            self.reservation = self.registrants.first().map(|r| (t, r.host));
        } else if kept_under == host {
            self.reservation = None;
            // The other registrants lose the access the reservation gave
            // them (nvmet_pr_unregister_one).
            if registrants_only(t) {
                self.notify_others(host, NotificationType::ReservationReleased, fx);
            }
        }
    }

    fn notify_others(&self, except: HostIdentifier, kind: NotificationType, fx: &mut Effects) {
        for r in self.registrants.iter().filter(|r| r.host != except) {
            fx.notify.push((r.host, kind));
        }
    }

    /// `host` registered with `crkey`, or Reservation Conflict.
    fn check_key(&self, host: HostIdentifier, crkey: u64) -> Result<(), Refusal> {
        match self.key_of(host) {
            Some(k) if k == crkey => Ok(()),
            _ => Err(CONFLICT),
        }
    }

    /// Reservation Acquire from `host`.
    pub(crate) fn acquire(
        &mut self,
        host: HostIdentifier,
        cmd: &ReservationAcquire,
    ) -> Result<Effects, Refusal> {
        // Since NVMe 1.3 (RESCAP IEKEY13) IEKEY is not supported on
        // Acquire: Invalid Field in Command.
        if cmd.iekey {
            return Err(INVALID_FIELD);
        }
        self.check_key(host, cmd.crkey)?;
        match cmd.action {
            AcquireAction::Acquire => match self.reservation {
                None => {
                    self.reservation = Some((cmd.rtype, host));
                    Ok(Effects::default())
                }
                Some((t, _)) if t == cmd.rtype && self.is_holder(host) => Ok(Effects::default()),
                Some(_) => Err(CONFLICT),
            },
            AcquireAction::Preempt => self.preempt(host, cmd, false),
            AcquireAction::PreemptAndAbort => self.preempt(host, cmd, true),
        }
    }

    fn preempt(
        &mut self,
        host: HostIdentifier,
        cmd: &ReservationAcquire,
        abort: bool,
    ) -> Result<Effects, Refusal> {
        let mut fx = Effects::default();
        let prkey = cmd.prkey;
        match self.reservation {
            // No reservation: remove the registrations with PRKEY.
            None => self.unregister_by_key(host, prkey, true, abort, &mut fx)?,
            Some((t, _)) if all_registrants(t) => {
                if prkey == 0 {
                    // PRKEY 0 takes an all-registrants reservation over:
                    // every other registrant goes, the new type is ours.
                    self.reservation = Some((cmd.rtype, host));
                    let others: Vec<HostIdentifier> = self
                        .registrants
                        .iter()
                        .map(|r| r.host)
                        .filter(|h| *h != host)
                        .collect();
                    for h in others {
                        self.preempt_host(h, abort, &mut fx);
                    }
                } else {
                    self.unregister_by_key(host, prkey, true, abort, &mut fx)?;
                }
            }
            // PRKEY names the holder (possibly the issuer itself, to change
            // the type): the reservation is the issuer's now, and the other
            // registrations with PRKEY go.
            Some((t, holder)) if self.key_of(holder) == Some(prkey) => {
                self.reservation = Some((cmd.rtype, host));
                self.unregister_by_key(host, prkey, false, abort, &mut fx)?;
                if t != cmd.rtype {
                    self.notify_others(host, NotificationType::ReservationReleased, &mut fx);
                }
            }
            Some(_) if prkey != 0 => self.unregister_by_key(host, prkey, true, abort, &mut fx)?,
            // PRKEY 0 names no holder of a single-holder reservation.
            Some(_) => return Err(INVALID_FIELD),
        }
        self.bump();
        Ok(fx)
    }

    /// Removes every registration with `key` (the issuer's own too when
    /// `include_self`); Reservation Conflict when `include_self` and none
    /// had it.
    fn unregister_by_key(
        &mut self,
        issuer: HostIdentifier,
        key: u64,
        include_self: bool,
        abort: bool,
        fx: &mut Effects,
    ) -> Result<(), Refusal> {
        let victims: Vec<HostIdentifier> = self
            .registrants
            .iter()
            .filter(|r| r.key == key && (include_self || r.host != issuer))
            .map(|r| r.host)
            .collect();
        if victims.is_empty() && include_self {
            return Err(CONFLICT);
        }
        for h in victims {
            if h == issuer {
                self.unregister_one(h, fx);
            } else {
                self.preempt_host(h, abort, fx);
            }
        }
        Ok(())
    }

    fn preempt_host(&mut self, h: HostIdentifier, abort: bool, fx: &mut Effects) {
        self.unregister_one(h, fx);
        fx.notify.push((h, NotificationType::RegistrationPreempted));
        if abort {
            fx.abort.push(h);
        }
    }

    /// Reservation Release from `host`.
    pub(crate) fn release(
        &mut self,
        host: HostIdentifier,
        cmd: &ReservationRelease,
    ) -> Result<Effects, Refusal> {
        if cmd.iekey {
            return Err(INVALID_FIELD);
        }
        self.check_key(host, cmd.crkey)?;
        let mut fx = Effects::default();
        match cmd.action {
            ReleaseAction::Release => {
                let Some((t, _)) = self.reservation else {
                    return Ok(fx);
                };
                // Releasing a reservation one does not hold does nothing.
                if !self.is_holder(host) {
                    return Ok(fx);
                }
                if cmd.rtype != Some(t) {
                    return Err(INVALID_FIELD);
                }
                self.reservation = None;
                if !matches!(
                    t,
                    ReservationType::WriteExclusive | ReservationType::ExclusiveAccess
                ) {
                    self.notify_others(host, NotificationType::ReservationReleased, &mut fx);
                }
            }
            ReleaseAction::Clear => {
                self.notify_others(host, NotificationType::ReservationPreempted, &mut fx);
                self.reservation = None;
                self.registrants.clear();
                self.bump();
            }
        }
        Ok(fx)
    }

    /// Power loss: everything goes unless PTPL is set.
    pub(crate) fn power_loss(&mut self) {
        if !self.ptpl {
            *self = ReservationState::default();
        }
    }
}

#[cfg(test)]
#[path = "reservation_tests.rs"]
mod tests;
