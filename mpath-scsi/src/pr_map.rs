//! The reservation coordinator's commands as PERSISTENT RESERVE OUT / IN
//! (SPC-4 6.16, 6.17), and their responses back.
//!
//! [`Coordinator`](mpath_core::reservation::Coordinator) speaks in
//! [`PrAction`]s (a [`Device`](mpath_core::Device) hands them out as
//! `Action::Reservation`) and [`PrReply`]s; this module maps them onto this
//! crate's codecs ([`cdb`], [`PrOutParams`], [`PrInRepr`], [`classify`]),
//! as `mpath_nvme::pr` maps them onto NVMe reservation commands. The adapter
//! entry points are [`ScsiAdapter::pr_command`] and
//! [`ScsiAdapter::pr_reply`]; [`PrOptions`] does the same for an embedder
//! without an adapter (a test tool talking to one nexus).
//!
//! | command | CDB (SERVICE ACTION, TYPE) | parameter list: RESERVATION KEY, SERVICE ACTION RESERVATION KEY |
//! |---|---|---|
//! | `Register { key }` | PR OUT 06h REGISTER AND IGNORE EXISTING KEY | 0, `key`; ALL_TG_PT per scope, APTPL per options |
//! | `Unregister` | PR OUT 06h | 0, 0; APTPL per options |
//! | `Reserve { key, rtype }` | PR OUT 01h RESERVE, `rtype` | `key`, 0 |
//! | `Release { key, rtype }` | PR OUT 02h RELEASE, `rtype` | `key`, 0 |
//! | `Preempt { key, victim, rtype, abort }` | PR OUT 04h PREEMPT or 05h PREEMPT AND ABORT, `rtype` | `key`, `victim` |
//! | `Clear { key }` | PR OUT 03h CLEAR | `key`, 0 |
//! | `RegisterAndMove { key, dest_key, rtype, relative_target_port }` | PR OUT 07h REGISTER AND MOVE, `rtype` | the REGISTER AND MOVE list (SPC-4 6.17.4): `key`, `dest_key`, UNREG 0, APTPL per options, `relative_target_port`, the destination TransportID given to [`PrOptions::command_with`] / [`ScsiAdapter::pr_command_with`] |
//! | `ReadKeys` | PR IN 00h READ KEYS, or 03h READ FULL STATUS with [`PrOptions::with_full_status`]; [`PR_IN_ALLOC_LEN`] | - |
//! | `ReadReservation` | PR IN 01h READ RESERVATION, [`PR_IN_ALLOC_LEN`] | - |
//!
//! SCOPE is always LU_SCOPE (the other scopes are obsolete). The PR OUT
//! PARAMETER LIST LENGTH is 24: the basic list without SPEC_I_PT; REGISTER
//! AND MOVE's is 24 plus its TransportID. Its TransportID is not in the
//! command (the coordinator keeps it, `Coordinator::move_destination`, so
//! the commands stay small on the device's action path): [`PrOptions::command`]
//! and [`ScsiAdapter::pr_command`] refuse REGISTER AND MOVE
//! ([`AdapterError::NoMoveDestination`]), the `_with` forms take it, check
//! it is one whole TransportID, and ignore it for every other command. APTPL
//! is set on REGISTER AND MOVE as on the register actions: SPC-4 5.13.5
//! takes it from the latest of them. ALL_TG_PT
//! is set on REGISTER AND IGNORE EXISTING KEY with a non-zero key exactly
//! when the registration scope is
//! [`RegistrationScope::InitiatorPort`]; APTPL on both register forms when
//! [`PrOptions::with_aptpl`] asked for it (off by default: most test
//! targets and clusters must not keep keys across power loss, and SPC-4
//! 5.13.5 takes APTPL from the last registration).
//!
//! # Responses
//!
//! | response | [`PrStep`] |
//! |---|---|
//! | GOOD, PR OUT | `Answer(Done)` |
//! | GOOD, READ KEYS | `Answer(Keys(list))`; `Resend` with a larger ALLOCATION LENGTH when the target has more keys than fitted |
//! | GOOD, READ FULL STATUS | `Answer(FullStatus(list))`; `Resend` with a larger ALLOCATION LENGTH likewise |
//! | ILLEGAL REQUEST (or another target error) to READ FULL STATUS | `Resend` as READ KEYS: the target does not support it |
//! | GOOD, READ RESERVATION | `Answer(Reservation(holder))` |
//! | RESERVATION CONFLICT (18h) | `Answer(Conflict)`: another path gets the same answer, so it is reported, not retried (rule 4) |
//! | unit attention, BUSY, TASK SET FULL, other same-path retries | `Resend` of the same command, [`PR_ATTEMPTS`] sends in all (the Linux midlayer retries a command that met a unit attention); then `Answer(PathFailed)` |
//! | ILLEGAL REQUEST and other target errors | `Answer(Refused)` |
//! | transport failures, path errors | `Answer(PathFailed)` |
//! | GOOD with malformed, short or unexpected data | `Answer(Refused)`, the reason in [`PrDecoded::data_error`] |
//!
//! Every decoded response carries its [`Notices`], resends included: unit
//! attentions 2A/03 (reservations preempted), 2A/04 (released), 2A/05
//! (registrations preempted), 29/xx (reset, I_T nexus loss). The embedder
//! gives them to the device (`Device::handle_notices`, which tells the
//! controller and the coordinator) after the reply, or to a bare
//! controller and coordinator in either order: a preemption notice that
//! reaches the coordinator in the middle of an operation is kept and its
//! key check runs when the operation ends.
//!
//! # Panic contract
//!
//! Nothing here panics on any response bytes; malformed data is an answer
//! (`Refused`) with a typed reason, never a panic.

use mpath_core::outcome::{Notices, Outcome};
use mpath_core::reservation::{
    PrAction, PrCommand, PrReply, PrType as CoreType, RegistrationScope,
};
use mpath_core::PathId;

use crate::adapter::{AdapterError, ScsiAdapter};
use crate::cdb::{self, Cdb};
use crate::classify::classify;
use crate::command::{CommandKind, DataOut, ScsiCommand, ScsiResponse};
use crate::error::WireError;
use crate::nexus::ItNexus;
use crate::pr::{PrInAction, PrOutAction, PrType};
use crate::pr_in::{FullStatus, PrIn, PrInRepr};
use crate::pr_out::{PrOutParams, RegisterAndMoveParams};
use crate::transport_id::TransportId;
use crate::wire::{usize_from, List};

/// The first PERSISTENT RESERVE IN ALLOCATION LENGTH: the header and 127
/// keys, more registrations than a host has paths. READ KEYS grows it to
/// what the target says it needs.
pub const PR_IN_ALLOC_LEN: u16 = 1024;

/// Sends of one PR command on one path: a unit attention (the reset after
/// a login, "reservations preempted") consumes the first.
pub const PR_ATTEMPTS: u8 = 3;

/// The SCSI TYPE of a core reservation type (same six).
pub const fn scsi_type(t: CoreType) -> PrType {
    match t {
        CoreType::WriteExclusive => PrType::WriteExclusive,
        CoreType::ExclusiveAccess => PrType::ExclusiveAccess,
        CoreType::WriteExclusiveRegistrantsOnly => PrType::WriteExclusiveRegistrantsOnly,
        CoreType::ExclusiveAccessRegistrantsOnly => PrType::ExclusiveAccessRegistrantsOnly,
        CoreType::WriteExclusiveAllRegistrants => PrType::WriteExclusiveAllRegistrants,
        CoreType::ExclusiveAccessAllRegistrants => PrType::ExclusiveAccessAllRegistrants,
    }
}

/// The core reservation type of a SCSI TYPE.
pub const fn core_type(t: PrType) -> CoreType {
    match t {
        PrType::WriteExclusive => CoreType::WriteExclusive,
        PrType::ExclusiveAccess => CoreType::ExclusiveAccess,
        PrType::WriteExclusiveRegistrantsOnly => CoreType::WriteExclusiveRegistrantsOnly,
        PrType::ExclusiveAccessRegistrantsOnly => CoreType::ExclusiveAccessRegistrantsOnly,
        PrType::WriteExclusiveAllRegistrants => CoreType::WriteExclusiveAllRegistrants,
        PrType::ExclusiveAccessAllRegistrants => CoreType::ExclusiveAccessAllRegistrants,
    }
}

/// How PERSISTENT RESERVE OUT commands are built for one logical unit.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PrOptions {
    scope: RegistrationScope,
    aptpl: bool,
    full_status: bool,
}

impl Default for PrOptions {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl PrOptions {
    /// Per-nexus registrations (ALL_TG_PT off), APTPL off.
    pub const DEFAULT: PrOptions = PrOptions {
        scope: RegistrationScope::Nexus,
        aptpl: false,
        full_status: false,
    };

    /// Registrations of `scope`, APTPL off. A SCSI registration belongs to
    /// an I_T nexus, or with ALL_TG_PT to an initiator port;
    /// [`RegistrationScope::Host`] is refused.
    pub const fn new(scope: RegistrationScope) -> Result<Self, AdapterError> {
        match scope {
            RegistrationScope::Host => Err(AdapterError::RegistrationScope(scope)),
            RegistrationScope::Nexus | RegistrationScope::InitiatorPort => Ok(PrOptions {
                scope,
                aptpl: false,
                full_status: false,
            }),
        }
    }

    /// The same options with APTPL (persist through power loss) set or not.
    #[must_use]
    pub const fn with_aptpl(mut self, aptpl: bool) -> Self {
        self.aptpl = aptpl;
        self
    }

    /// The same options with the coordinator's READ KEYS sent as READ FULL
    /// STATUS (falling back to READ KEYS where the target refuses it), so
    /// that [`PrDecoded::reply_at`] can tell whether the nexus it went
    /// through is registered ([`PrReply::Keys::here`]). Worth it when the
    /// embedder knows each path's [`ItNexus`]; without one the answer is
    /// READ KEYS's.
    #[must_use]
    pub const fn with_full_status(mut self, full_status: bool) -> Self {
        self.full_status = full_status;
        self
    }

    /// Whether READ KEYS goes out as READ FULL STATUS.
    pub const fn full_status(&self) -> bool {
        self.full_status
    }

    /// What one registration covers.
    pub const fn scope(&self) -> RegistrationScope {
        self.scope
    }

    /// Whether registrations set ALL_TG_PT.
    pub const fn all_tg_pt(&self) -> bool {
        matches!(self.scope, RegistrationScope::InitiatorPort)
    }

    /// Whether registrations set APTPL.
    pub const fn aptpl(&self) -> bool {
        self.aptpl
    }

    /// The command for `action`, first send. Does not check that the path
    /// exists: [`ScsiAdapter::pr_command`] does. REGISTER AND MOVE needs
    /// its destination: [`PrOptions::command_with`].
    pub fn command(&self, action: &PrAction) -> Result<ScsiCommand, AdapterError> {
        self.build(action.via, action.command, None)
    }

    /// [`PrOptions::command`], with the destination TransportID a REGISTER
    /// AND MOVE needs (the coordinator's `move_destination`; its relative
    /// target port is in the command). The bytes must be one whole
    /// TransportID (SPC-4 7.6.4), else [`AdapterError::Wire`] names the
    /// field and offset; `None` for a REGISTER AND MOVE is
    /// [`AdapterError::NoMoveDestination`]. Every other command ignores
    /// `transport_id`, so an embedder may pass `move_destination` for all.
    pub fn command_with(
        &self,
        action: &PrAction,
        transport_id: Option<&[u8]>,
    ) -> Result<ScsiCommand, AdapterError> {
        self.build(action.via, action.command, transport_id)
    }

    fn build(
        &self,
        via: PathId,
        command: PrCommand,
        transport_id: Option<&[u8]>,
    ) -> Result<ScsiCommand, AdapterError> {
        let kind = CommandKind::Reservation {
            command,
            attempt: 1,
        };
        let (action, rtype, key, sa_key) = match command {
            PrCommand::Register { key } => {
                (PrOutAction::RegisterAndIgnoreExistingKey, None, 0, key)
            }
            PrCommand::Unregister => (PrOutAction::RegisterAndIgnoreExistingKey, None, 0, 0),
            PrCommand::Reserve { key, rtype } => (PrOutAction::Reserve, Some(rtype), key, 0),
            PrCommand::Release { key, rtype } => (PrOutAction::Release, Some(rtype), key, 0),
            PrCommand::Preempt {
                key,
                victim,
                rtype,
                abort,
            } => {
                let a = if abort {
                    PrOutAction::PreemptAndAbort
                } else {
                    PrOutAction::Preempt
                };
                (a, Some(rtype), key, victim)
            }
            PrCommand::Clear { key } => (PrOutAction::Clear, None, key, 0),
            PrCommand::ReadKeys => {
                let action = if self.full_status {
                    PrInAction::ReadFullStatus
                } else {
                    PrInAction::ReadKeys
                };
                return Ok(pr_in(via, kind, action, PR_IN_ALLOC_LEN));
            }
            PrCommand::ReadReservation => {
                return Ok(pr_in(
                    via,
                    kind,
                    PrInAction::ReadReservation,
                    PR_IN_ALLOC_LEN,
                ))
            }
            PrCommand::RegisterAndMove {
                key,
                dest_key,
                rtype,
                relative_target_port,
            } => {
                let tid = transport_id.ok_or(AdapterError::NoMoveDestination)?;
                let (transport_id, n) = TransportId::parse_bytes(tid)?;
                if n != tid.len() {
                    // Bytes after the TransportID: not one whole TransportID
                    // (it is the list's last field, SPC-4 table 174).
                    return Err(WireError::mismatch("TransportID", n).into());
                }
                let params = RegisterAndMoveParams {
                    key,
                    sa_key: dest_key,
                    // Our registration stays (rule 12 of the coordinator).
                    unreg: false,
                    aptpl: self.aptpl,
                    relative_target_port,
                    transport_id,
                };
                return out_command(via, kind, PrOutAction::RegisterAndMove, Some(rtype), |b| {
                    params.emit(b)
                });
            }
        };
        let registering = action == PrOutAction::RegisterAndIgnoreExistingKey;
        let params = PrOutParams {
            // SPC-4 6.17.3: ALL_TG_PT and APTPL mean something only to the
            // register actions; ALL_TG_PT only when a key is registered.
            all_tg_pt: registering && sa_key != 0 && self.all_tg_pt(),
            aptpl: registering && self.aptpl,
            ..PrOutParams::new(key, sa_key)
        };
        out_command(via, kind, action, rtype, |b| params.emit(b))
    }

    /// Decode the response to `sent` (a command [`PrOptions::command`]
    /// built, or a [`PrStep::Resend`]). The only error is a command that is
    /// not a PERSISTENT RESERVE command ([`AdapterError::WrongEntry`]);
    /// everything the target or transport can send is an answer.
    pub fn decode<'a>(
        &self,
        sent: &ScsiCommand,
        resp: &ScsiResponse<'a>,
    ) -> Result<PrDecoded<'a>, AdapterError> {
        let CommandKind::Reservation { command, attempt } = sent.kind else {
            return Err(AdapterError::WrongEntry { command: sent.kind });
        };
        let completion = classify(resp.transport, resp.status, resp.sense);
        let answer = |a| PrStep::Answer(a);
        let mut data_error = None;
        let step = match completion.outcome {
            Outcome::Success => match read_data(sent, command, resp.data_in) {
                Ok(Data::Answer(a)) => answer(a),
                Ok(Data::Grow(action, len)) => PrStep::Resend(grown(sent, action, len)),
                Err(e) => {
                    data_error = Some(e);
                    answer(PrAnswer::Refused)
                }
            },
            Outcome::ReservationConflict => answer(PrAnswer::Conflict),
            // A target without READ FULL STATUS: READ KEYS says enough
            // (no nexus named), so ask that instead, same attempt.
            Outcome::TargetError(_) if in_action(sent) == Some(PrInAction::ReadFullStatus) => {
                PrStep::Resend(pr_in(
                    sent.path,
                    sent.kind,
                    PrInAction::ReadKeys,
                    PR_IN_ALLOC_LEN,
                ))
            }
            Outcome::TargetError(_) => answer(PrAnswer::Refused),
            Outcome::Retry { .. } if attempt < PR_ATTEMPTS => PrStep::Resend(ScsiCommand {
                kind: CommandKind::Reservation {
                    command,
                    attempt: attempt.saturating_add(1),
                },
                ..*sent
            }),
            // Path errors, transport failures, retries used up.
            _ => answer(PrAnswer::PathFailed),
        };
        Ok(PrDecoded {
            step,
            notices: completion.notices,
            data_error,
        })
    }
}

/// PERSISTENT RESERVE OUT `action` with the parameter list `emit` writes.
fn out_command(
    via: PathId,
    kind: CommandKind,
    action: PrOutAction,
    rtype: Option<CoreType>,
    emit: impl FnOnce(&mut [u8]) -> Result<usize, WireError>,
) -> Result<ScsiCommand, AdapterError> {
    let data_out = DataOut::emit(emit)?;
    let param_len = u32::try_from(data_out.len())
        .map_err(|_| WireError::out_of_range("PARAMETER LIST LENGTH", 5))?;
    Ok(ScsiCommand {
        path: via,
        kind,
        cdb: Cdb::from_slice(&cdb::persistent_reserve_out(
            action,
            rtype.map(scsi_type),
            param_len,
        )),
        data_out,
        data_in_len: 0,
    })
}

fn pr_in(via: PathId, kind: CommandKind, action: PrInAction, alloc_len: u16) -> ScsiCommand {
    ScsiCommand {
        path: via,
        kind,
        cdb: Cdb::from_slice(&cdb::persistent_reserve_in(action, alloc_len)),
        data_out: DataOut::NONE,
        data_in_len: u32::from(alloc_len),
    }
}

/// The service action of a PERSISTENT RESERVE IN CDB.
fn in_action(sent: &ScsiCommand) -> Option<PrInAction> {
    match sent.cdb() {
        [cdb::opcode::PERSISTENT_RESERVE_IN, sa, ..] => PrInAction::from_code(sa & 0x1f, 1).ok(),
        _ => None,
    }
}

/// READ KEYS or READ FULL STATUS `sent` again with room for `len` bytes;
/// the same attempt, since the target answered.
fn grown(sent: &ScsiCommand, action: PrInAction, len: u16) -> ScsiCommand {
    ScsiCommand {
        cdb: Cdb::from_slice(&cdb::persistent_reserve_in(action, len)),
        data_in_len: u32::from(len),
        ..*sent
    }
}

/// What the data of a GOOD response says.
enum Data<'a> {
    Answer(PrAnswer<'a>),
    /// READ KEYS or READ FULL STATUS was cut short by the ALLOCATION
    /// LENGTH: ask for this many.
    Grow(PrInAction, u16),
}

fn read_data<'a>(
    sent: &ScsiCommand,
    command: PrCommand,
    data: &'a [u8],
) -> Result<Data<'a>, AdapterError> {
    let allowed = usize_from(sent.data_in_len);
    if data.len() > allowed {
        return Err(AdapterError::UnexpectedData {
            command: sent.kind,
            len: data.len(),
            allowed,
        });
    }
    let action = match command {
        PrCommand::ReadKeys if in_action(sent) == Some(PrInAction::ReadFullStatus) => {
            PrInAction::ReadFullStatus
        }
        PrCommand::ReadKeys => PrInAction::ReadKeys,
        PrCommand::ReadReservation => PrInAction::ReadReservation,
        // PR OUT allows no data-in, checked above.
        _ => return Ok(Data::Answer(PrAnswer::Done)),
    };
    if action != PrInAction::ReadReservation {
        let required = PrIn::<&[u8]>::required_len(data, action)?;
        if required > data.len() && data.len() == allowed {
            // SPC-4 4.2.5.6: the target truncates to the ALLOCATION LENGTH
            // and ADDITIONAL LENGTH still counts every key. Counting only
            // the keys that fitted would under-count ours and look like a
            // preemption, so ask again with room for all of them.
            return match u16::try_from(required) {
                Ok(len) if usize::from(len) > allowed => Ok(Data::Grow(action, len)),
                _ => Err(AdapterError::PrInTooLarge { required }),
            };
        }
    }
    Ok(Data::Answer(match PrInRepr::parse_bytes(action, data)? {
        PrInRepr::ReadKeys { keys, .. } => PrAnswer::Keys(keys),
        PrInRepr::ReadReservation { reservation, .. } => {
            PrAnswer::Reservation(reservation.map(|r| (r.key, core_type(r.pr_type))))
        }
        PrInRepr::ReadFullStatus { registrations, .. } => PrAnswer::FullStatus(registrations),
        // parse_bytes answers in the action it was given.
        PrInRepr::ReportCapabilities(_) => PrAnswer::Refused,
    }))
}

/// The target's answer to a PR command, before it is summarised for one
/// host's key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrAnswer<'a> {
    /// GOOD (PR OUT).
    Done,
    /// READ KEYS: every registered key, one per registration.
    Keys(List<'a, u64>),
    /// READ FULL STATUS: every registration with its I_T nexus.
    FullStatus(List<'a, FullStatus<'a>>),
    /// READ RESERVATION: the holder's key and the type, if any.
    Reservation(Option<(u64, CoreType)>),
    /// RESERVATION CONFLICT.
    Conflict,
    /// The path failed the command: transport failure, path error, or
    /// same-path retries used up.
    PathFailed,
    /// The target refused it (ILLEGAL REQUEST), or its data was unusable.
    Refused,
}

impl PrAnswer<'_> {
    /// The coordinator's reply for a host whose key is `our_key`, not
    /// knowing which nexus the command went through (`here: None`).
    pub fn reply(&self, our_key: Option<u64>) -> PrReply {
        self.reply_at(our_key, None)
    }

    /// The coordinator's reply for a host whose key is `our_key`, the
    /// command having gone through `nexus`: READ FULL STATUS then says
    /// whether that nexus holds one of our registrations
    /// ([`PrReply::Keys::here`]; `None` where a descriptor cannot tell,
    /// [`ItNexus::holds`]).
    pub fn reply_at(&self, our_key: Option<u64>, nexus: Option<&ItNexus<'_>>) -> PrReply {
        match self {
            PrAnswer::Done => PrReply::Done,
            PrAnswer::Keys(keys) => {
                let (ours, total) = count(keys.iter(), our_key);
                PrReply::Keys {
                    ours,
                    total,
                    here: None,
                }
            }
            PrAnswer::FullStatus(list) => {
                let (ours, total) = count(list.iter().map(|d| d.key), our_key);
                let here = nexus.and_then(|n| {
                    let mine = list.iter().filter(|d| Some(d.key) == our_key);
                    let mut answer = Some(false);
                    for d in mine {
                        match n.holds(&d) {
                            Some(true) => return Some(true),
                            Some(false) => {}
                            None => answer = None,
                        }
                    }
                    answer
                });
                PrReply::Keys { ours, total, here }
            }
            PrAnswer::Reservation(r) => PrReply::Reservation(*r),
            PrAnswer::Conflict => PrReply::Conflict,
            PrAnswer::PathFailed => PrReply::PathFailed,
            PrAnswer::Refused => PrReply::Refused,
        }
    }
}

/// Registrations with `our_key`, and all registrations.
fn count(keys: impl Iterator<Item = u64>, our_key: Option<u64>) -> (u32, u32) {
    keys.fold((0u32, 0u32), |(ours, total), k| {
        (
            ours.saturating_add(u32::from(Some(k) == our_key)),
            total.saturating_add(1),
        )
    })
}

/// What to do with a PR command's response.
// A whole command by value: its parameter-list buffer is sized for REGISTER
// AND MOVE (`DATA_OUT_MAX`). no_std has no Box to put it behind, and the
// value is made once per response on the control path, never per I/O.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrStep<'a> {
    /// The answer: its [`PrAnswer::reply`] goes to
    /// [`Device::handle_reservation_reply`](mpath_core::Device::handle_reservation_reply)
    /// (or a bare
    /// [`Coordinator::reply`](mpath_core::reservation::Coordinator::reply)).
    Answer(PrAnswer<'a>),
    /// Send this on the same path instead and decode its response (a unit
    /// attention or busy target, or READ KEYS needing more room).
    Resend(ScsiCommand),
}

/// A decoded PR command response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PrDecoded<'a> {
    /// The answer, or the command to send instead.
    pub step: PrStep<'a>,
    /// Notices the response carried (unit attentions): for the device's
    /// `handle_notices`, whatever the step.
    pub notices: Notices,
    /// Why a GOOD response was answered `Refused`: malformed or short
    /// PERSISTENT RESERVE IN data (field and offset), data-in where none
    /// belongs, or more than was allocated.
    pub data_error: Option<AdapterError>,
}

impl PrDecoded<'_> {
    /// The coordinator's reply for a host whose key is `our_key`, or `None`
    /// when the command is to be resent.
    pub fn reply(&self, our_key: Option<u64>) -> Option<PrReply> {
        self.reply_at(our_key, None)
    }

    /// [`PrDecoded::reply`] for a command that went through `nexus`
    /// ([`PrAnswer::reply_at`]).
    pub fn reply_at(&self, our_key: Option<u64>, nexus: Option<&ItNexus<'_>>) -> Option<PrReply> {
        match &self.step {
            PrStep::Answer(a) => Some(a.reply_at(our_key, nexus)),
            PrStep::Resend(_) => None,
        }
    }
}

impl<const P: usize> ScsiAdapter<P> {
    /// The PERSISTENT RESERVE OUT / IN command for a coordinator action,
    /// built with [`ScsiAdapter::pr_options`] (see the table in
    /// [`crate::pr_map`]). The path must be known to the adapter. REGISTER
    /// AND MOVE needs its destination: [`ScsiAdapter::pr_command_with`].
    pub fn pr_command(&self, action: &PrAction) -> Result<ScsiCommand, AdapterError> {
        self.pr_command_with(action, None)
    }

    /// [`ScsiAdapter::pr_command`] with the destination TransportID of a
    /// REGISTER AND MOVE: pass the coordinator's `move_destination` (its
    /// bytes) for every action ([`PrOptions::command_with`]).
    pub fn pr_command_with(
        &self,
        action: &PrAction,
        transport_id: Option<&[u8]>,
    ) -> Result<ScsiCommand, AdapterError> {
        self.path(action.via)?;
        self.pr_options().command_with(action, transport_id)
    }

    /// Decode the response to a command from [`ScsiAdapter::pr_command`]
    /// (or a [`PrStep::Resend`]). The path is not checked: a command that
    /// was in flight when its path was removed still owes the coordinator
    /// a reply.
    pub fn pr_reply<'a>(
        &self,
        sent: &ScsiCommand,
        resp: &ScsiResponse<'a>,
    ) -> Result<PrDecoded<'a>, AdapterError> {
        self.pr_options().decode(sent, resp)
    }
}

#[cfg(test)]
#[path = "pr_map_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "pr_map_full_status_tests.rs"]
mod full_status_tests;

#[cfg(test)]
#[path = "pr_map_move_tests.rs"]
mod move_tests;
