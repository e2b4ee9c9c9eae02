//! The coordinator's [`PrCommand`]s as SCSI PERSISTENT RESERVE OUT / IN
//! commands, and their results as [`PrReply`]s. Bytes come from mpath-scsi's
//! codecs (CDB builders, the PR OUT parameter list, the PR IN parser, the
//! completion classifier); this module only chooses the fields.
//!
//! | command | CDB | parameter list |
//! |---|---|---|
//! | `Register { key }` | PR OUT REGISTER AND IGNORE EXISTING KEY | key 0, SA key `key` |
//! | `Unregister` | same | key 0, SA key 0 |
//! | `Reserve { key, rtype }` | PR OUT RESERVE, type, LU scope | key |
//! | `Release { key, rtype }` | PR OUT RELEASE, type | key |
//! | `Preempt { key, victim, rtype, abort }` | PR OUT PREEMPT (AND ABORT), type | key, SA key `victim` |
//! | `Clear { key }` | PR OUT CLEAR | key |
//! | `ReadKeys` | PR IN READ KEYS, 1024 bytes | - |
//! | `ReadReservation` | PR IN READ RESERVATION, 1024 bytes | - |
//!
//! APTPL is never set (a test target must not keep keys across restarts);
//! ALL_TG_PT follows [`PrTransport::all_tg_pt`].

use mpath_core::outcome::{Completion, Notices, Outcome};
use mpath_core::reservation::{PrCommand, PrReply, PrType};
use mpath_scsi::cdb;
use mpath_scsi::classify::classify;
use mpath_scsi::pr::{PrInAction, PrOutAction, PrType as WireType};
use mpath_scsi::pr_in::PrInRepr;
use mpath_scsi::pr_out::PrOutParams;

use crate::nexus::CommandResult;

/// PR IN allocation length: 127 keys of READ KEYS.
pub const PR_IN_ALLOC: u16 = 1024;

/// Same-path attempts of one PR command: a unit attention (reset after a
/// login, "reservations preempted") consumes the first, as the Linux
/// midlayer retries a command that hit one.
pub const ATTEMPTS: usize = 3;

/// The core's reservation type as the SCSI TYPE code.
pub const fn wire_type(t: PrType) -> WireType {
    match t {
        PrType::WriteExclusive => WireType::WriteExclusive,
        PrType::ExclusiveAccess => WireType::ExclusiveAccess,
        PrType::WriteExclusiveRegistrantsOnly => WireType::WriteExclusiveRegistrantsOnly,
        PrType::ExclusiveAccessRegistrantsOnly => WireType::ExclusiveAccessRegistrantsOnly,
        PrType::WriteExclusiveAllRegistrants => WireType::WriteExclusiveAllRegistrants,
        PrType::ExclusiveAccessAllRegistrants => WireType::ExclusiveAccessAllRegistrants,
    }
}

/// The SCSI TYPE as the core's reservation type.
pub const fn core_type(t: WireType) -> PrType {
    match t {
        WireType::WriteExclusive => PrType::WriteExclusive,
        WireType::ExclusiveAccess => PrType::ExclusiveAccess,
        WireType::WriteExclusiveRegistrantsOnly => PrType::WriteExclusiveRegistrantsOnly,
        WireType::ExclusiveAccessRegistrantsOnly => PrType::ExclusiveAccessRegistrantsOnly,
        WireType::WriteExclusiveAllRegistrants => PrType::WriteExclusiveAllRegistrants,
        WireType::ExclusiveAccessAllRegistrants => PrType::ExclusiveAccessAllRegistrants,
    }
}

/// One encoded PR command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Encoded {
    /// The CDB.
    pub cdb: [u8; 10],
    /// The PR OUT parameter list, if any.
    pub params: Option<[u8; 24]>,
    /// Data-in length (PR IN).
    pub data_in: usize,
}

/// The target's answer to a PR command, before it is summarised for one
/// host's key: a simulator and the real target report the same thing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrAnswer {
    /// GOOD (PR OUT).
    Done,
    /// READ KEYS: every registered key, one per registration.
    Keys(Vec<u64>),
    /// READ RESERVATION: holder key and type.
    Reservation(Option<(u64, PrType)>),
    /// RESERVATION CONFLICT.
    Conflict,
    /// The nexus failed the command (transport, path error, unit attentions
    /// past [`ATTEMPTS`]).
    PathFailed,
    /// The target refused it (ILLEGAL REQUEST, malformed PR IN data).
    Refused,
}

impl PrAnswer {
    /// The coordinator's view, for a host whose key is `ours`.
    pub fn reply(&self, ours: Option<u64>) -> PrReply {
        match self {
            PrAnswer::Done => PrReply::Done,
            PrAnswer::Keys(keys) => PrReply::Keys {
                ours: count(keys.iter().filter(|&&k| Some(k) == ours).count()),
                total: count(keys.len()),
            },
            PrAnswer::Reservation(r) => PrReply::Reservation(*r),
            PrAnswer::Conflict => PrReply::Conflict,
            PrAnswer::PathFailed => PrReply::PathFailed,
            PrAnswer::Refused => PrReply::Refused,
        }
    }
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// A PR command carried out on one nexus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrExchange {
    /// The answer.
    pub answer: PrAnswer,
    /// Unit attentions and other notices seen on the way (feed them to
    /// `Coordinator::handle_notices` and the controller).
    pub notices: Notices,
    /// Commands sent (retries included).
    pub attempts: usize,
}

/// PR command encoding options.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PrTransport {
    /// Set ALL_TG_PT in REGISTER parameter lists.
    pub all_tg_pt: bool,
}

impl PrTransport {
    /// Encode `cmd`.
    pub fn encode(&self, cmd: PrCommand) -> Encoded {
        let (action, rtype, key, sa_key) = match cmd {
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
            PrCommand::ReadKeys => return pr_in(PrInAction::ReadKeys),
            PrCommand::ReadReservation => return pr_in(PrInAction::ReadReservation),
        };
        let mut p = PrOutParams::new(key, sa_key);
        p.all_tg_pt = self.all_tg_pt
            && matches!(action, PrOutAction::RegisterAndIgnoreExistingKey)
            && sa_key != 0;
        let mut params = [0u8; 24];
        // The basic list is exactly 24 bytes; emit cannot fail into them.
        let len = p.emit(&mut params).unwrap_or(params.len());
        let cdb = cdb::persistent_reserve_out(
            action,
            rtype.map(wire_type),
            u32::try_from(len).unwrap_or(24),
        );
        Encoded {
            cdb,
            params: Some(params),
            data_in: 0,
        }
    }

    /// Send `cmd` with `send` (CDB, data-out, data-in length), retrying on
    /// unit attentions and other same-path retries up to [`ATTEMPTS`].
    pub fn execute(
        &self,
        cmd: PrCommand,
        mut send: impl FnMut(&[u8], Option<&[u8]>, usize) -> CommandResult,
    ) -> PrExchange {
        let enc = self.encode(cmd);
        let mut notices = Notices::empty();
        for attempt in 1..=ATTEMPTS {
            let r = send(&enc.cdb, enc.params.as_ref().map(|p| &p[..]), enc.data_in);
            let (answer, completion) = decode(cmd, &r);
            notices |= completion.notices;
            let retry = matches!(completion.outcome, Outcome::Retry { .. });
            if !retry {
                return PrExchange {
                    answer,
                    notices,
                    attempts: attempt,
                };
            }
        }
        PrExchange {
            answer: PrAnswer::PathFailed,
            notices,
            attempts: ATTEMPTS,
        }
    }
}

fn pr_in(action: PrInAction) -> Encoded {
    Encoded {
        cdb: cdb::persistent_reserve_in(action, PR_IN_ALLOC),
        params: None,
        data_in: usize::from(PR_IN_ALLOC),
    }
}

/// Classify a finished PR command and, on GOOD, parse its data.
pub fn decode(cmd: PrCommand, r: &CommandResult) -> (PrAnswer, Completion) {
    let completion = classify(r.transport, r.status, r.sense());
    let answer = match completion.outcome {
        Outcome::Success => parse_data(cmd, &r.data),
        Outcome::ReservationConflict => PrAnswer::Conflict,
        // Another path would get the same refusal (ILLEGAL REQUEST and
        // friends): the coordinator reports it rather than retrying.
        Outcome::TargetError(_) => PrAnswer::Refused,
        // Path errors, and retries that `execute` ran out of.
        _ => PrAnswer::PathFailed,
    };
    (answer, completion)
}

fn parse_data(cmd: PrCommand, data: &[u8]) -> PrAnswer {
    let action = match cmd {
        PrCommand::ReadKeys => PrInAction::ReadKeys,
        PrCommand::ReadReservation => PrInAction::ReadReservation,
        _ => return PrAnswer::Done,
    };
    match PrInRepr::parse_bytes(action, data) {
        Ok(PrInRepr::ReadKeys { keys, .. }) => PrAnswer::Keys(keys.iter().collect()),
        Ok(PrInRepr::ReadReservation { reservation, .. }) => {
            PrAnswer::Reservation(reservation.map(|r| (r.key, core_type(r.pr_type))))
        }
        _ => PrAnswer::Refused,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpath_scsi::classify::TransportStatus;

    fn good(data: Vec<u8>) -> CommandResult {
        CommandResult {
            transport: TransportStatus::Ok,
            status: 0,
            sense: Vec::new(),
            data,
            error: None,
        }
    }

    #[test]
    fn register_is_register_and_ignore_existing_key() {
        let t = PrTransport { all_tg_pt: true };
        let e = t.encode(PrCommand::Register { key: 0xA1 });
        assert_eq!(e.cdb[0], 0x5F);
        assert_eq!(e.cdb[1], 6);
        assert_eq!(e.cdb[8], 24);
        let p = PrOutParams::parse_bytes(e.params.as_ref().unwrap()).unwrap();
        assert_eq!(
            (p.key, p.sa_key, p.all_tg_pt, p.aptpl),
            (0, 0xA1, true, false)
        );
        let u = t.encode(PrCommand::Unregister);
        let p = PrOutParams::parse_bytes(u.params.as_ref().unwrap()).unwrap();
        assert_eq!((p.key, p.sa_key, p.all_tg_pt), (0, 0, false));
    }

    #[test]
    fn reservation_commands_carry_type_and_keys() {
        let t = PrTransport::default();
        let e = t.encode(PrCommand::Preempt {
            key: 1,
            victim: 2,
            rtype: PrType::WriteExclusiveRegistrantsOnly,
            abort: true,
        });
        assert_eq!((e.cdb[1], e.cdb[2]), (5, 5));
        let p = PrOutParams::parse_bytes(e.params.as_ref().unwrap()).unwrap();
        assert_eq!((p.key, p.sa_key), (1, 2));
        let r = t.encode(PrCommand::Reserve {
            key: 1,
            rtype: PrType::ExclusiveAccess,
        });
        assert_eq!((r.cdb[1], r.cdb[2]), (1, 3));
        let k = t.encode(PrCommand::ReadKeys);
        assert_eq!((k.cdb[0], k.cdb[1], k.data_in), (0x5E, 0, 1024));
    }

    #[test]
    fn read_keys_counts_ours_and_total() {
        let mut d = vec![0, 0, 0, 7, 0, 0, 0, 24];
        for k in [0xA1u64, 0xB2, 0xA1] {
            d.extend_from_slice(&k.to_be_bytes());
        }
        let (a, _) = decode(PrCommand::ReadKeys, &good(d));
        assert_eq!(a, PrAnswer::Keys(vec![0xA1, 0xB2, 0xA1]));
        assert_eq!(a.reply(Some(0xA1)), PrReply::Keys { ours: 2, total: 3 });
        assert_eq!(a.reply(None), PrReply::Keys { ours: 0, total: 3 });
    }

    #[test]
    fn unit_attention_is_retried_and_its_notice_kept() {
        let t = PrTransport::default();
        let ua = vec![
            0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2A, 0x03, 0, 0, 0, 0,
        ];
        let mut sent = 0;
        let x = t.execute(PrCommand::Unregister, |_, _, _| {
            sent += 1;
            if sent == 1 {
                CommandResult {
                    transport: TransportStatus::Ok,
                    status: 2,
                    sense: ua.clone(),
                    data: Vec::new(),
                    error: None,
                }
            } else {
                good(Vec::new())
            }
        });
        assert_eq!(x.answer, PrAnswer::Done);
        assert_eq!(x.attempts, 2);
        assert_eq!(x.notices, Notices::RESERVATIONS_PREEMPTED);
    }

    #[test]
    fn conflict_refusal_and_transport_failure() {
        let conflict = CommandResult {
            status: 0x18,
            ..good(Vec::new())
        };
        assert_eq!(
            decode(PrCommand::Unregister, &conflict).0,
            PrAnswer::Conflict
        );
        let illegal = CommandResult {
            status: 2,
            sense: vec![0x70, 0, 5, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0],
            ..good(Vec::new())
        };
        assert_eq!(decode(PrCommand::Unregister, &illegal).0, PrAnswer::Refused);
        let down = CommandResult {
            transport: TransportStatus::Disrupted,
            ..good(Vec::new())
        };
        assert_eq!(decode(PrCommand::ReadKeys, &down).0, PrAnswer::PathFailed);
    }
}
