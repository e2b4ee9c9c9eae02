//! A tiny model of an SPC-4 device server's persistent-reservation state
//! (SPC-4 5.13), keyed by the path a command arrives on (one I_T nexus
//! per path), answering in the C structs: what the device's reservation
//! commands are tested against.

use crate::codes::{MpathPrCommand, MpathPrReplyKind};
use crate::reservation::{MpathPrAction, MpathPrReply};
use std::vec::Vec;

/// Our reservation key.
pub(crate) const OURS: u64 = 0xa1;

#[derive(Default, Debug)]
pub(crate) struct Target {
    /// (nexus, key)
    pub regs: Vec<(u32, u64)>,
    /// (holder nexus, key, type code)
    pub resv: Option<(u32, u64, u32)>,
    /// Nexuses that are unreachable: commands fail at the transport.
    pub down: Vec<u32>,
    /// (nexus, command code) of every command that arrived.
    pub log: Vec<(u32, u32)>,
    /// The I_T nexus a REGISTER AND MOVE's destination names.
    pub move_dest: Option<u32>,
}

fn reply(kind: MpathPrReplyKind) -> MpathPrReply {
    MpathPrReply {
        kind: kind.code(),
        ..MpathPrReply::default()
    }
}

impl Target {
    fn key_of(&self, nexus: u32) -> Option<u64> {
        self.regs.iter().find(|r| r.0 == nexus).map(|r| r.1)
    }

    pub fn exec(&mut self, a: &MpathPrAction) -> MpathPrReply {
        use MpathPrReplyKind::{Conflict, Done, PathFailed};
        let nexus = a.via;
        if self.down.contains(&nexus) {
            return reply(PathFailed);
        }
        self.log.push((nexus, a.command));
        let registered = self.key_of(nexus);
        let r = match MpathPrCommand::from_code(a.command).unwrap() {
            MpathPrCommand::Register => {
                self.regs.retain(|r| r.0 != nexus);
                self.regs.push((nexus, a.key));
                reply(Done)
            }
            MpathPrCommand::Unregister => {
                self.regs.retain(|r| r.0 != nexus);
                reply(Done)
            }
            MpathPrCommand::ReadKeys => MpathPrReply {
                kind: MpathPrReplyKind::Keys.code(),
                ours: self.regs.iter().filter(|r| r.1 == OURS).count() as u32,
                total: self.regs.len() as u32,
                ..MpathPrReply::default()
            },
            MpathPrCommand::ReadReservation => MpathPrReply {
                kind: MpathPrReplyKind::Reservation.code(),
                has_reservation: u8::from(self.resv.is_some()),
                holder_key: self.resv.map_or(0, |r| r.1),
                rtype: self.resv.map_or(0, |r| r.2),
                ..MpathPrReply::default()
            },
            _ if registered != Some(a.key) => reply(Conflict),
            MpathPrCommand::Reserve => match self.resv {
                None => {
                    self.resv = Some((nexus, a.key, a.rtype));
                    reply(Done)
                }
                Some((h, _, t)) if h == nexus && t == a.rtype => reply(Done),
                Some(_) => reply(Conflict),
            },
            MpathPrCommand::Release => {
                if self.resv.is_some_and(|r| r.0 == nexus) {
                    self.resv = None;
                }
                reply(Done)
            }
            // Removes the victim's registrations except the sender's, and
            // takes the victim's reservation: preempting our own key from
            // a live nexus moves the reservation there.
            MpathPrCommand::Preempt => {
                self.regs.retain(|r| r.1 != a.victim || r.0 == nexus);
                if self.resv.map_or(true, |r| r.1 == a.victim) {
                    self.resv = Some((nexus, a.key, a.rtype));
                }
                reply(Done)
            }
            MpathPrCommand::Clear => {
                self.regs.clear();
                self.resv = None;
                reply(Done)
            }
            // SPC-4 5.13.8: the holder of a single-holder reservation (type
            // codes 0-3) moves it with its type; an unregistered
            // destination is registered with the SA key (`victim`).
            MpathPrCommand::RegisterAndMove => match (self.resv, self.move_dest) {
                (Some((h, _, t)), Some(dest)) if h == nexus && t < 4 && dest != nexus => {
                    if self.key_of(dest).is_none() {
                        self.regs.push((dest, a.victim));
                    }
                    let k = self.key_of(dest).unwrap_or(a.victim);
                    self.resv = Some((dest, k, t));
                    reply(Done)
                }
                (Some((h, _, t)), _) if h == nexus && t < 4 => reply(MpathPrReplyKind::Refused),
                _ => reply(Conflict),
            },
        };
        // A single holder that is no longer registered holds nothing.
        if self.resv.is_some_and(|(h, _, _)| self.key_of(h).is_none()) {
            self.resv = None;
        }
        r
    }
}
