//! PR commands on one nexus. What goes on the wire and what the answer
//! means is mpath-scsi's sans-IO mapping ([`mpath_scsi::pr_map`]: the
//! adapter's `pr_command`, or [`PrOptions::command`] without an adapter,
//! builds the PERSISTENT RESERVE OUT / IN command; the adapter's `pr_reply`,
//! or [`PrOptions::decode`], reads the response, says when to resend, and
//! collects the unit attentions); this module only sends those commands
//! through a nexus ([`exchange`]) and keeps the answer in an owned form,
//! because the [`Fabric`](crate::fabric::Fabric) trait hands it across
//! nexuses and a simulated fabric must build the same thing.

use mpath_core::outcome::Notices;
use mpath_core::reservation::{PrAction, PrCommand, PrReply, PrType};
use mpath_core::PathId;
use mpath_scsi::pr_in::FullStatus;
use mpath_scsi::pr_map::{PrDecoded, PrOptions, PrStep};
use mpath_scsi::{AdapterError, ItNexus, List, ScsiCommand, ScsiResponse, WireItem};

use crate::command::CommandResult;

/// Sends of one exchange at most: the adapter resends at most
/// `PR_ATTEMPTS` times plus one READ KEYS growth; this only guards the
/// loop.
const MAX_SENDS: usize = 8;

/// The target's answer to a PR command, before it is summarised for one
/// host's key: the owned form of [`mpath_scsi::PrAnswer`], which a
/// simulator and the real target both report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PrAnswer {
    /// GOOD (PR OUT).
    Done,
    /// READ KEYS: every registered key, one per registration.
    Keys(Vec<u64>),
    /// READ FULL STATUS: the registration descriptors, as wire bytes
    /// (each names its I_T nexus; borrowed views need the bytes).
    FullStatus(Vec<u8>),
    /// READ RESERVATION: holder key and type.
    Reservation(Option<(u64, PrType)>),
    /// RESERVATION CONFLICT.
    Conflict,
    /// The nexus failed the command (transport, path error, unit attentions
    /// past the adapter's attempts).
    PathFailed,
    /// The target refused it (ILLEGAL REQUEST, malformed PR IN data).
    Refused,
}

impl From<&mpath_scsi::PrAnswer<'_>> for PrAnswer {
    fn from(a: &mpath_scsi::PrAnswer<'_>) -> Self {
        use mpath_scsi::PrAnswer as A;
        match a {
            A::Done => PrAnswer::Done,
            A::Keys(keys) => PrAnswer::Keys(keys.iter().collect()),
            A::FullStatus(list) => PrAnswer::FullStatus(descriptor_bytes(list)),
            A::Reservation(r) => PrAnswer::Reservation(*r),
            A::Conflict => PrAnswer::Conflict,
            A::PathFailed => PrAnswer::PathFailed,
            A::Refused => PrAnswer::Refused,
        }
    }
}

impl PrAnswer {
    /// The coordinator's view, for a host whose key is `ours` (the
    /// adapter's summary: [`mpath_scsi::PrAnswer::reply`]).
    pub fn reply(&self, ours: Option<u64>) -> PrReply {
        self.reply_at(ours, None)
    }

    /// The same for a command that went through `nexus`
    /// ([`mpath_scsi::PrAnswer::reply_at`]: READ FULL STATUS then says
    /// whether that nexus holds one of ours).
    pub fn reply_at(&self, ours: Option<u64>, nexus: Option<&ItNexus<'_>>) -> PrReply {
        use mpath_scsi::PrAnswer as A;
        let borrowed = match self {
            PrAnswer::Done => A::Done,
            PrAnswer::Keys(keys) => A::Keys(List::Items(keys)),
            PrAnswer::FullStatus(bytes) => A::FullStatus(List::Wire(bytes)),
            PrAnswer::Reservation(r) => A::Reservation(*r),
            PrAnswer::Conflict => A::Conflict,
            PrAnswer::PathFailed => A::PathFailed,
            PrAnswer::Refused => A::Refused,
        };
        borrowed.reply_at(ours, nexus)
    }
}

/// READ FULL STATUS descriptors as wire bytes, whichever form the list is
/// in.
fn descriptor_bytes(list: &List<'_, FullStatus<'_>>) -> Vec<u8> {
    if let List::Wire(b) = list {
        return b.to_vec();
    }
    let mut out = Vec::new();
    for d in list.iter() {
        let at = out.len();
        out.resize(at + d.encoded_len(), 0);
        // The buffer is exactly the descriptor's length.
        let _ = d.encode(&mut out[at..]);
    }
    out
}

/// A PR command carried out on one nexus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PrExchange {
    /// The answer.
    pub answer: PrAnswer,
    /// Unit attentions and other notices seen on the way (feed them to
    /// `Coordinator::handle_notices`, after its reply, and the controller).
    pub notices: Notices,
    /// Commands sent (resends included).
    pub attempts: usize,
    /// Why the answer is `Refused` though the target may have said GOOD:
    /// unusable PERSISTENT RESERVE IN data (field and offset), or a
    /// command the mapping could not build or decode.
    pub error: Option<AdapterError>,
}

impl PrExchange {
    /// An exchange that sent nothing (no such nexus, not supported).
    pub fn unsent(answer: PrAnswer) -> Self {
        PrExchange {
            answer,
            notices: Notices::empty(),
            attempts: 0,
            error: None,
        }
    }
}

/// Carry out `cmd` with `send`, which delivers one command on the nexus
/// and returns its result, as [`exchange`] does, building and decoding
/// with `opts` (no adapter: a tool talking to one nexus, the other host).
/// The command's path is a placeholder (path 0): `send` knows its nexus.
pub fn execute(
    opts: &PrOptions,
    cmd: PrCommand,
    send: impl FnMut(&ScsiCommand) -> CommandResult,
) -> PrExchange {
    let action = PrAction {
        via: PathId::from_raw(0),
        command: cmd,
    };
    match opts.command(&action) {
        Ok(first) => exchange(first, |c, r| opts.decode(c, r), send),
        Err(e) => PrExchange {
            error: Some(e),
            ..PrExchange::unsent(PrAnswer::Refused)
        },
    }
}

/// Carry out one PR command: send `first` with `send`, decode each
/// response with `decode` (the SCSI adapter's `pr_reply`, or
/// [`PrOptions::decode`]), and send again whatever the decoder asks for,
/// until it answers.
pub fn exchange(
    first: ScsiCommand,
    mut decode: impl for<'r> FnMut(
        &ScsiCommand,
        &ScsiResponse<'r>,
    ) -> Result<PrDecoded<'r>, AdapterError>,
    mut send: impl FnMut(&ScsiCommand) -> CommandResult,
) -> PrExchange {
    let mut sent = first;
    let mut notices = Notices::empty();
    for attempt in 1..=MAX_SENDS {
        let result = send(&sent);
        let d = match decode(&sent, &result.response()) {
            Ok(d) => d,
            Err(e) => {
                return PrExchange {
                    answer: PrAnswer::Refused,
                    notices,
                    attempts: attempt,
                    error: Some(e),
                }
            }
        };
        notices |= d.notices;
        match d.step {
            PrStep::Answer(a) => {
                return PrExchange {
                    answer: PrAnswer::from(&a),
                    notices,
                    attempts: attempt,
                    error: d.data_error,
                }
            }
            PrStep::Resend(next) => sent = next,
        }
    }
    PrExchange {
        answer: PrAnswer::PathFailed,
        notices,
        attempts: MAX_SENDS,
        error: None,
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
    fn read_keys_are_kept_whole_and_summarised_by_the_adapter() {
        let mut d = vec![0, 0, 0, 7, 0, 0, 0, 24];
        for k in [0xA1u64, 0xB2, 0xA1] {
            d.extend_from_slice(&k.to_be_bytes());
        }
        let x = execute(&PrOptions::DEFAULT, PrCommand::ReadKeys, |c| {
            assert_eq!(c.cdb()[0], 0x5E);
            good(d.clone())
        });
        assert_eq!(x.answer, PrAnswer::Keys(vec![0xA1, 0xB2, 0xA1]));
        assert_eq!(
            x.answer.reply(Some(0xA1)),
            PrReply::Keys {
                ours: 2,
                total: 3,
                here: None
            }
        );
        assert_eq!(
            x.answer.reply(None),
            PrReply::Keys {
                ours: 0,
                total: 3,
                here: None
            }
        );
    }

    #[test]
    fn unit_attention_is_resent_and_its_notice_kept() {
        let ua = vec![
            0x70, 0, 6, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x2A, 0x03, 0, 0, 0, 0,
        ];
        let mut sent = Vec::new();
        let x = execute(&PrOptions::DEFAULT, PrCommand::Unregister, |c| {
            sent.push((c.cdb().to_vec(), c.data_out().to_vec()));
            if sent.len() == 1 {
                CommandResult {
                    status: 2,
                    sense: ua.clone(),
                    ..good(Vec::new())
                }
            } else {
                good(Vec::new())
            }
        });
        assert_eq!(x.answer, PrAnswer::Done);
        assert_eq!(x.attempts, 2);
        assert_eq!(x.notices, Notices::RESERVATIONS_PREEMPTED);
        assert_eq!(sent[0], sent[1], "the same command again");
    }

    #[test]
    fn unusable_data_is_refused_with_its_reason_kept() {
        // READ KEYS whose ADDITIONAL LENGTH (12) is no multiple of a key.
        let d = vec![
            0, 0, 0, 7, 0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0, 0xA1, 0, 0, 0, 0,
        ];
        let x = execute(&PrOptions::DEFAULT, PrCommand::ReadKeys, |_| {
            good(d.clone())
        });
        assert_eq!((x.answer, x.attempts), (PrAnswer::Refused, 1));
        assert!(
            matches!(x.error, Some(AdapterError::Wire(_))),
            "{:?}",
            x.error
        );
    }

    #[test]
    fn transport_failure_fails_the_path() {
        let x = execute(&PrOptions::DEFAULT, PrCommand::ReadKeys, |_| {
            CommandResult {
                transport: TransportStatus::Disrupted,
                ..good(Vec::new())
            }
        });
        assert_eq!((x.answer, x.attempts), (PrAnswer::PathFailed, 1));
    }
}
