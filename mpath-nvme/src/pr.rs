//! The persistent-reservation coordinator's commands on NVMe.
//!
//! [`mpath_core::reservation::Coordinator`] speaks in [`PrCommand`]s and
//! [`PrReply`]s; this module maps them onto Reservation Register / Acquire /
//! Release / Report (NVMe Base Specification, "Reservations") and back.
//! Registrations are host-scoped ([`REGISTRATION_SCOPE`]), so the coordinator
//! for an NVMe head runs with `RegistrationScope::Host` and registers once.
//!
//! SCSI's REGISTER AND IGNORE EXISTING KEY has no single NVMe equivalent:
//! Register (RREGA 000b) fails with Reservation Conflict when the host is
//! already registered with another key, and Replace (010b) fails when it is
//! not registered at all. [`pr_command`] sends Register; on a conflict,
//! [`pr_reply`] asks for Replace with IEKEY set, which succeeds in the other
//! case. That is what Linux's `nvme_pr_register` does with
//! `PR_FL_IGNORE_KEY`, in two steps.
//!
//! [`REGISTRATION_SCOPE`]: crate::command::REGISTRATION_SCOPE

use crate::adapter::{AdapterError, NvmeAdapter};
use crate::classify::{classify, Delivery};
use crate::command::NvmeCommand;
use crate::identify::Crdt;
use crate::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReleaseAction, ReservationAcquire, ReservationRegister,
    ReservationRelease, ReservationType,
};
use crate::resv_report::{Format, ResvReport};
use mpath_core::outcome::Outcome;
use mpath_core::reservation::{PrAction, PrCommand, PrReply, PrType};

/// Bytes asked for by a Reservation Report: the 24-byte header and 64
/// registrants, more controllers than a host reaches one namespace through.
pub const REPORT_LEN: u32 = 24 + 64 * 24;

/// The NVMe reservation type for a core type (same six, same order).
pub const fn nvme_type(t: PrType) -> ReservationType {
    match t {
        PrType::WriteExclusive => ReservationType::WriteExclusive,
        PrType::ExclusiveAccess => ReservationType::ExclusiveAccess,
        PrType::WriteExclusiveRegistrantsOnly => ReservationType::WriteExclusiveRegistrantsOnly,
        PrType::ExclusiveAccessRegistrantsOnly => ReservationType::ExclusiveAccessRegistrantsOnly,
        PrType::WriteExclusiveAllRegistrants => ReservationType::WriteExclusiveAllRegistrants,
        PrType::ExclusiveAccessAllRegistrants => ReservationType::ExclusiveAccessAllRegistrants,
    }
}

/// The core type for an NVMe reservation type.
pub const fn core_type(t: ReservationType) -> PrType {
    match t {
        ReservationType::WriteExclusive => PrType::WriteExclusive,
        ReservationType::ExclusiveAccess => PrType::ExclusiveAccess,
        ReservationType::WriteExclusiveRegistrantsOnly => PrType::WriteExclusiveRegistrantsOnly,
        ReservationType::ExclusiveAccessRegistrantsOnly => PrType::ExclusiveAccessRegistrantsOnly,
        ReservationType::WriteExclusiveAllRegistrants => PrType::WriteExclusiveAllRegistrants,
        ReservationType::ExclusiveAccessAllRegistrants => PrType::ExclusiveAccessAllRegistrants,
    }
}

/// What to do with a reservation command's completion.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrStep {
    /// Hand this to [`Coordinator::reply`](mpath_core::reservation::Coordinator::reply).
    Reply(PrReply),
    /// Send this instead and map its completion again (Register met an
    /// existing registration: replace it).
    Resend(NvmeCommand),
}

fn register(action: RegisterAction, iekey: bool, crkey: u64, nrkey: u64) -> ReservationRegister {
    ReservationRegister {
        action,
        iekey,
        cptpl: Cptpl::NoChange,
        crkey,
        nrkey,
    }
}

/// The NVMe command for a coordinator action.
pub fn pr_command<const P: usize>(
    adapter: &NvmeAdapter<P>,
    action: PrAction,
) -> Result<NvmeCommand, AdapterError> {
    let via = action.via;
    match action.command {
        PrCommand::Register { key } => {
            adapter.reservation_register(via, register(RegisterAction::Register, false, 0, key))
        }
        PrCommand::Unregister => {
            adapter.reservation_register(via, register(RegisterAction::Unregister, true, 0, 0))
        }
        PrCommand::ReadKeys | PrCommand::ReadReservation => {
            adapter.reservation_report(via, REPORT_LEN, false)
        }
        PrCommand::Reserve { key, rtype } => adapter.reservation_acquire(
            via,
            ReservationAcquire {
                action: AcquireAction::Acquire,
                iekey: false,
                rtype: nvme_type(rtype),
                crkey: key,
                prkey: 0,
            },
        ),
        PrCommand::Preempt {
            key,
            victim,
            rtype,
            abort,
        } => adapter.reservation_acquire(
            via,
            ReservationAcquire {
                action: if abort {
                    AcquireAction::PreemptAndAbort
                } else {
                    AcquireAction::Preempt
                },
                iekey: false,
                rtype: nvme_type(rtype),
                crkey: key,
                prkey: victim,
            },
        ),
        PrCommand::Release { key, rtype } => adapter.reservation_release(
            via,
            ReservationRelease {
                action: ReleaseAction::Release,
                iekey: false,
                rtype: Some(nvme_type(rtype)),
                crkey: key,
            },
        ),
        PrCommand::Clear { key } => adapter.reservation_release(
            via,
            ReservationRelease {
                action: ReleaseAction::Clear,
                iekey: false,
                rtype: None,
                crkey: key,
            },
        ),
    }
}

/// Map the completion of `sent` (the command [`pr_command`] built, or a
/// [`PrStep::Resend`]) for coordinator command `command`. `data` is the
/// Reservation Report for reads; `our_key` the key the coordinator holds.
pub fn pr_reply<const P: usize>(
    adapter: &NvmeAdapter<P>,
    action: PrAction,
    sent: &NvmeCommand,
    delivery: Delivery,
    data: &[u8],
    our_key: u64,
) -> Result<PrStep, AdapterError> {
    let crdt = adapter
        .path(action.via)
        .map(|p| p.crdt)
        .unwrap_or(Crdt([0; 3]));
    let outcome = classify(delivery, &crdt).outcome;
    let reply = match outcome {
        Outcome::Success => match action.command {
            PrCommand::ReadKeys => {
                let report = ResvReport::new_checked(data, Format::Regular)?;
                let (mut ours, mut total) = (0u32, 0u32);
                for r in report.registrants() {
                    total = total.saturating_add(1);
                    if r.rkey == our_key {
                        ours = ours.saturating_add(1);
                    }
                }
                PrReply::Keys { ours, total }
            }
            PrCommand::ReadReservation => {
                let report = ResvReport::new_checked(data, Format::Regular)?;
                let holder = report.holder().map(|h| h.rkey);
                PrReply::Reservation(
                    holder
                        .zip(report.header().rtype)
                        .map(|(k, t)| (k, core_type(t))),
                )
            }
            _ => PrReply::Done,
        },
        Outcome::ReservationConflict => match (action.command, sent) {
            (PrCommand::Register { key }, NvmeCommand::ReservationRegister { cmd, .. })
                if cmd.action == RegisterAction::Register =>
            {
                return Ok(PrStep::Resend(adapter.reservation_register(
                    action.via,
                    register(RegisterAction::Replace, true, 0, key),
                )?));
            }
            _ => PrReply::Conflict,
        },
        Outcome::PathError(_) | Outcome::Retry { .. } => PrReply::PathFailed,
        _ => PrReply::Refused,
    };
    Ok(PrStep::Reply(reply))
}
