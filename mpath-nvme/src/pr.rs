//! The persistent-reservation coordinator's commands on NVMe, and their
//! responses back.
//!
//! [`mpath_core::reservation::Coordinator`] (behind a
//! [`Device`](mpath_core::Device), whose `poll_action` hands them out as
//! `Action::Reservation`) speaks in [`PrAction`]s and [`PrReply`]s; this
//! module maps them onto Reservation Register / Acquire / Release / Report
//! (NVMe Base Specification, "Reservations") and back, as
//! `mpath_scsi::pr_map` maps them onto PERSISTENT RESERVE OUT / IN, with the
//! same shape: [`NvmeAdapter::pr_command`] builds the command,
//! [`NvmeAdapter::pr_reply`] decodes its response into a [`PrDecoded`]
//! whose [`PrStep`] is the target's answer ([`PrAnswer`], whose
//! [`reply`](PrAnswer::reply) is the coordinator's [`PrReply`]) or the
//! command to send instead. Registrations are host-scoped
//! ([`REGISTRATION_SCOPE`]), so the coordinator for an NVMe head runs with
//! `RegistrationScope::Host` and registers once.
//!
//! | command | NVMe command |
//! |---|---|
//! | `Register { key }` | Reservation Register, Register (RREGA 000b), NRKEY `key`; on a conflict, Replace (010b) with IEKEY |
//! | `Unregister` | Reservation Register, Unregister (001b) with IEKEY |
//! | `Reserve { key, rtype }` | Reservation Acquire, Acquire, CRKEY `key`, RTYPE |
//! | `Preempt { key, victim, rtype, abort }` | Reservation Acquire, Preempt or Preempt and Abort, CRKEY `key`, PRKEY `victim` |
//! | `Release { key, rtype }` | Reservation Release, Release, CRKEY `key`, RTYPE |
//! | `Clear { key }` | Reservation Release, Clear, CRKEY `key` |
//! | `ReadKeys`, `ReadReservation` | Reservation Report, [`REPORT_LEN`] bytes, regular format |
//! | `RegisterAndMove { .. }` | none: refused, [`AdapterError::Unsupported`] |
//!
//! NVMe has no REGISTER AND MOVE: reservations belong to hosts, not to I_T
//! nexuses, and no command hands one to another host. The coordinator
//! never asks for it here (its `move_to` refuses a host-scoped
//! registration: no nexus holds the reservation), and should an embedder's
//! coordinator ask anyway, [`NvmeAdapter::pr_command`] refuses it with a
//! typed error, sending nothing; the embedder answers the device
//! `PrReply::Refused`.
//!
//! SCSI's REGISTER AND IGNORE EXISTING KEY has no single NVMe equivalent:
//! Register (RREGA 000b) fails with Reservation Conflict when the host is
//! already registered with another key, and Replace (010b) fails when it is
//! not registered at all. [`NvmeAdapter::pr_command`] sends Register; on a
//! conflict, [`NvmeAdapter::pr_reply`] asks for Replace with IEKEY set,
//! which succeeds in the other case. That is what Linux's
//! `nvme_pr_register` does with `PR_FL_IGNORE_KEY`, in two steps.
//!
//! # Responses
//!
//! | response | [`PrStep`] |
//! |---|---|
//! | success, Register / Acquire / Release | `Answer(Done)` |
//! | success, Reservation Report for read keys | `Answer(Keys(report))`; `Resend` with room for every registrant when REGCTL counts more than fitted |
//! | success, Reservation Report for read reservation | `Answer(Reservation(holder))`; `Resend` as for read keys |
//! | Reservation Conflict on Register | `Resend` as Replace with IEKEY |
//! | other Reservation Conflict | `Answer(Conflict)` |
//! | path errors, transport failures, statuses to retry | `Answer(PathFailed)` |
//! | other errors | `Answer(Refused)` |
//! | success with malformed, short or unexpected data | `Answer(Refused)`, the reason in [`PrDecoded::data_error`] |
//!
//! # Panic contract
//!
//! Nothing here panics on any response bytes; malformed data is an answer
//! (`Refused`) with a typed reason, never a panic.
//!
//! [`REGISTRATION_SCOPE`]: crate::command::REGISTRATION_SCOPE

use crate::adapter::{AdapterError, NvmeAdapter};
use crate::classify::classify;
use crate::command::{NvmeCommand, NvmeResponse};
use crate::error::Error;
use crate::identify::Crdt;
use crate::reservation::{
    AcquireAction, Cptpl, RegisterAction, ReleaseAction, ReservationAcquire, ReservationRegister,
    ReservationRelease, ReservationReport, ReservationType,
};
use crate::resv_report::{Format, ResvReport};
use mpath_core::outcome::{Notices, Outcome};
use mpath_core::reservation::{PrAction, PrCommand, PrReply, PrType};
use mpath_core::PathId;

/// Bytes asked for by a Reservation Report: the 24-byte header and 64
/// registrants, more controllers than a host reaches one namespace through.
/// A report whose REGCTL counts more is asked again with room for all.
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

/// The controller's answer to a reservation command, before it is
/// summarised for one host's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrAnswer<'a> {
    /// Success (Register, Acquire, Release).
    Done,
    /// Reservation Report for read keys: every registrant (one per
    /// registered host), all present.
    Keys(ResvReport<&'a [u8]>),
    /// Reservation Report for read reservation: the holder's key and the
    /// type, if any.
    Reservation(Option<(u64, PrType)>),
    /// Reservation Conflict.
    Conflict,
    /// The path failed the command: transport failure, path error, or a
    /// status the controller asked to retry.
    PathFailed,
    /// The controller refused it, or its data was unusable.
    Refused,
}

impl PrAnswer<'_> {
    /// The coordinator's reply for a host whose key is `our_key`, not
    /// knowing its Host Identifier (`here: None`).
    pub fn reply(&self, our_key: Option<u64>) -> PrReply {
        self.reply_at(our_key, None)
    }

    /// The coordinator's reply for the host whose Host Identifier is
    /// `host_id` (16 bytes as the report holds it: a 64-bit identifier in
    /// the first half) and whose key is `our_key`. Registrations are per
    /// host, so "the nexus this went through holds our key"
    /// ([`PrReply::Keys::here`]) is "a registrant with our Host Identifier
    /// has our key": a controller of ours that comes back finds the host
    /// registered already and registers nothing, so nothing can land
    /// behind another host's fence.
    pub fn reply_at(&self, our_key: Option<u64>, host_id: Option<&[u8; 16]>) -> PrReply {
        match self {
            PrAnswer::Done => PrReply::Done,
            PrAnswer::Keys(report) => {
                let (mut ours, mut total, mut mine) = (0u32, 0u32, false);
                for r in report.registrants() {
                    total = total.saturating_add(1);
                    if Some(r.rkey) == our_key {
                        ours = ours.saturating_add(1);
                        mine |= host_id == Some(&r.hostid);
                    }
                }
                PrReply::Keys {
                    ours,
                    total,
                    here: host_id.map(|_| mine),
                }
            }
            PrAnswer::Reservation(r) => PrReply::Reservation(*r),
            PrAnswer::Conflict => PrReply::Conflict,
            PrAnswer::PathFailed => PrReply::PathFailed,
            PrAnswer::Refused => PrReply::Refused,
        }
    }
}

/// What to do with a reservation command's response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrStep<'a> {
    /// The answer: its [`PrAnswer::reply`] goes to
    /// [`Device::handle_reservation_reply`](mpath_core::Device::handle_reservation_reply)
    /// (or a bare
    /// [`Coordinator::reply`](mpath_core::reservation::Coordinator::reply)).
    Answer(PrAnswer<'a>),
    /// Send this on the same path instead and decode its response
    /// (Register met an existing registration: replace it; a report needs
    /// more room).
    Resend(NvmeCommand),
}

/// A decoded reservation command response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrDecoded<'a> {
    /// The answer, or the command to send instead.
    pub step: PrStep<'a>,
    /// Notices the completion carried: for the device's `handle_notices`,
    /// whatever the step.
    pub notices: Notices,
    /// Why a successful response was answered `Refused`: a malformed or
    /// short Reservation Report (field and offset), or data where none
    /// belongs.
    pub data_error: Option<AdapterError>,
}

impl PrDecoded<'_> {
    /// The coordinator's reply for a host whose key is `our_key`, or `None`
    /// when the command is to be resent.
    pub fn reply(&self, our_key: Option<u64>) -> Option<PrReply> {
        match &self.step {
            PrStep::Answer(a) => Some(a.reply(our_key)),
            PrStep::Resend(_) => None,
        }
    }
    /// [`PrDecoded::reply`] for the host with Host Identifier `host_id`
    /// ([`PrAnswer::reply_at`]).
    pub fn reply_at(&self, our_key: Option<u64>, host_id: Option<&[u8; 16]>) -> Option<PrReply> {
        match &self.step {
            PrStep::Answer(a) => Some(a.reply_at(our_key, host_id)),
            PrStep::Resend(_) => None,
        }
    }
}

fn register(
    action: RegisterAction,
    iekey: bool,
    crkey: u64,
    nrkey: u64,
    cptpl: Cptpl,
) -> ReservationRegister {
    ReservationRegister {
        action,
        iekey,
        cptpl,
        crkey,
        nrkey,
    }
}

impl<const P: usize> NvmeAdapter<P> {
    // ----- reservation commands (host-scoped: any path will do) -----

    /// Reservation Register on `path`'s namespace.
    pub fn reservation_register(
        &self,
        path: PathId,
        cmd: ReservationRegister,
    ) -> Result<NvmeCommand, AdapterError> {
        self.on_namespace(path, |nsid| NvmeCommand::ReservationRegister {
            path,
            nsid,
            cmd,
            pr: None,
        })
    }

    /// Reservation Acquire on `path`'s namespace.
    pub fn reservation_acquire(
        &self,
        path: PathId,
        cmd: ReservationAcquire,
    ) -> Result<NvmeCommand, AdapterError> {
        self.on_namespace(path, |nsid| NvmeCommand::ReservationAcquire {
            path,
            nsid,
            cmd,
            pr: None,
        })
    }

    /// Reservation Release on `path`'s namespace.
    pub fn reservation_release(
        &self,
        path: PathId,
        cmd: ReservationRelease,
    ) -> Result<NvmeCommand, AdapterError> {
        self.on_namespace(path, |nsid| NvmeCommand::ReservationRelease {
            path,
            nsid,
            cmd,
            pr: None,
        })
    }

    /// Reservation Report of `len` bytes on `path`'s namespace, extended
    /// format (128-bit host identifiers) when `eds`.
    pub fn reservation_report(
        &self,
        path: PathId,
        len: u32,
        eds: bool,
    ) -> Result<NvmeCommand, AdapterError> {
        let cmd = ReservationReport::new(len, eds)?;
        self.on_namespace(path, |nsid| NvmeCommand::ReservationReport {
            path,
            nsid,
            cmd,
            pr: None,
        })
    }

    /// `build` with this head's NSID, if the adapter knows `path`.
    fn on_namespace(
        &self,
        path: PathId,
        build: impl FnOnce(u32) -> NvmeCommand,
    ) -> Result<NvmeCommand, AdapterError> {
        self.path(path)?;
        Ok(build(self.identity().nsid))
    }

    // ----- the coordinator's commands -----

    /// The NVMe command for a coordinator action (see the table in
    /// [`crate::pr`]). The path must be known to the adapter.
    pub fn pr_command(&self, action: &PrAction) -> Result<NvmeCommand, AdapterError> {
        let via = action.via;
        let cmd = match action.command {
            PrCommand::Register { key } => {
                let reg = register(RegisterAction::Register, false, 0, key, self.ptpl());
                self.reservation_register(via, reg)
            }
            PrCommand::Unregister => {
                let reg = register(RegisterAction::Unregister, true, 0, 0, Cptpl::NoChange);
                self.reservation_register(via, reg)
            }
            PrCommand::ReadKeys | PrCommand::ReadReservation => {
                self.reservation_report(via, REPORT_LEN, false)
            }
            PrCommand::Reserve { key, rtype } => self.reservation_acquire(
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
            } => self.reservation_acquire(
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
            PrCommand::Release { key, rtype } => self.reservation_release(
                via,
                ReservationRelease {
                    action: ReleaseAction::Release,
                    iekey: false,
                    rtype: Some(nvme_type(rtype)),
                    crkey: key,
                },
            ),
            PrCommand::Clear { key } => self.reservation_release(
                via,
                ReservationRelease {
                    action: ReleaseAction::Clear,
                    iekey: false,
                    rtype: None,
                    crkey: key,
                },
            ),
            PrCommand::RegisterAndMove { .. } => Err(AdapterError::Unsupported {
                command: "REGISTER AND MOVE",
            }),
        }?;
        Ok(carrying(cmd, action.command))
    }

    /// Decode the response to a command from [`NvmeAdapter::pr_command`]
    /// (or a [`PrStep::Resend`]). The path is not checked: a command that
    /// was in flight when its path was removed still owes the coordinator
    /// a reply. The only error is a command that does not carry a
    /// coordinator command ([`AdapterError::WrongEntry`]); everything the
    /// controller or transport can send is an answer.
    pub fn pr_reply<'a>(
        &self,
        sent: &NvmeCommand,
        resp: &NvmeResponse<'a>,
    ) -> Result<PrDecoded<'a>, AdapterError> {
        let Some(command) = sent.pr_command() else {
            return Err(AdapterError::WrongEntry {
                command: sent.kind(),
            });
        };
        let crdt = self.path(sent.path()).map_or(Crdt([0; 3]), |p| p.crdt);
        let completion = classify(resp.delivery, &crdt);
        let answer = |a| PrStep::Answer(a);
        let mut data_error = None;
        let step = match completion.outcome {
            Outcome::Success => match read_data(sent, command, resp.data_in) {
                Ok(Data::Answer(a)) => answer(a),
                Ok(Data::Resend(next)) => PrStep::Resend(next),
                Err(e) => {
                    data_error = Some(e);
                    answer(PrAnswer::Refused)
                }
            },
            Outcome::ReservationConflict => match (command, sent) {
                (PrCommand::Register { key }, NvmeCommand::ReservationRegister { cmd, .. })
                    if cmd.action == RegisterAction::Register =>
                {
                    PrStep::Resend(NvmeCommand::ReservationRegister {
                        path: sent.path(),
                        nsid: sent.nsid(),
                        cmd: register(RegisterAction::Replace, true, 0, key, cmd.cptpl),
                        pr: Some(command),
                    })
                }
                _ => answer(PrAnswer::Conflict),
            },
            Outcome::PathError(_) | Outcome::Retry { .. } => answer(PrAnswer::PathFailed),
            _ => answer(PrAnswer::Refused),
        };
        Ok(PrDecoded {
            step,
            notices: completion.notices,
            data_error,
        })
    }
}

/// `cmd` marked as carrying out the coordinator's `command`.
fn carrying(mut cmd: NvmeCommand, command: PrCommand) -> NvmeCommand {
    match &mut cmd {
        NvmeCommand::ReservationRegister { pr, .. }
        | NvmeCommand::ReservationAcquire { pr, .. }
        | NvmeCommand::ReservationRelease { pr, .. }
        | NvmeCommand::ReservationReport { pr, .. } => *pr = Some(command),
        NvmeCommand::GetLogPage { .. } | NvmeCommand::ResetController { .. } => {}
    }
    cmd
}

/// What the data of a successful response says.
enum Data<'a> {
    Answer(PrAnswer<'a>),
    /// The report was cut short by its length: ask again with this.
    Resend(NvmeCommand),
}

fn read_data<'a>(
    sent: &NvmeCommand,
    command: PrCommand,
    data: &'a [u8],
) -> Result<Data<'a>, AdapterError> {
    let allowed = usize::try_from(sent.data_in_len()).unwrap_or(usize::MAX);
    if data.len() > allowed {
        return Err(AdapterError::UnexpectedData {
            command: sent.kind(),
            len: data.len(),
            allowed,
        });
    }
    let NvmeCommand::ReservationReport { cmd, .. } = *sent else {
        // Register, Acquire and Release return no data, checked above.
        return Ok(Data::Answer(PrAnswer::Done));
    };
    let format = if cmd.eds {
        Format::Extended
    } else {
        Format::Regular
    };
    let report = ResvReport::new_checked(data, format)?;
    if report.is_truncated() {
        // REGCTL counts every registrant; counting only those that fitted
        // would under-count ours and look like a preemption, and could
        // miss the holder. A controller that filled our buffer had more
        // to say: ask again with room for all of them.
        let needed = usize::from(report.header().regctl)
            .saturating_mul(format.registrant_len())
            .saturating_add(format.header_len());
        let len = u32::try_from(needed).unwrap_or(u32::MAX);
        if data.len() == allowed && needed > allowed {
            let grown = ReservationReport::new(len, cmd.eds)?;
            return Ok(Data::Resend(NvmeCommand::ReservationReport {
                path: sent.path(),
                nsid: sent.nsid(),
                cmd: grown,
                pr: Some(command),
            }));
        }
        return Err(AdapterError::Wire(Error::Truncated {
            field: "Registered Controller data structure",
            offset: report
                .present()
                .saturating_mul(format.registrant_len())
                .saturating_add(format.header_len()),
            needed: format.registrant_len(),
        }));
    }
    Ok(Data::Answer(match command {
        PrCommand::ReadKeys => PrAnswer::Keys(report),
        // The all-registrants types have no one holder: every registrant
        // holds them (each with its reservation-status bit set). Reported
        // with key 0, as SCSI READ RESERVATION reports them, so the
        // coordinator reads "ours while we are registered" the same way
        // on both transports.
        PrCommand::ReadReservation => PrAnswer::Reservation(
            report
                .holder()
                .map(|h| h.rkey)
                .zip(report.header().rtype)
                .map(|(k, t)| {
                    let t = core_type(t);
                    (if t.all_registrants() { 0 } else { k }, t)
                }),
        ),
        // A report sent for another command: nothing to read in it.
        _ => PrAnswer::Refused,
    }))
}
