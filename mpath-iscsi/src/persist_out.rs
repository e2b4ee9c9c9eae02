//! PERSISTENT RESERVE OUT for the `mpathpersist` tool: each service
//! action through the host's reservation coordinator (SPEC_I_PT's REGISTER
//! raw first, on one nexus), the joining and stale-registration rules of
//! the module docs of [`super`], and a check of the target's state
//! afterwards, so that a command the target answered GOOD without doing is
//! a failure, not a success.

use std::io::Write;

use mpath_core::outcome::ProbeResult;
use mpath_core::reservation::{PrCommand, PrError, PrOp, PrReport, PrType, RegState};
use mpath_scsi::pr_in::Capabilities;
use mpath_scsi::pr_map::{core_type, scsi_type};
use mpath_scsi::{PrInAction, PrInRepr, PrOptions};

use super::tid::Tid;
use super::{show, ExitStatus, Failure, OutAction, OutRequest, ToolNexuses};
use crate::host::{Host, HostError};
use crate::pr_transport::{self, PrAnswer};

#[path = "persist_ports.rs"]
mod ports;

/// Sends of one raw PR OUT on one nexus: unit attentions (a fresh login's
/// reset, a preemption notice) consume the first ones.
const ATTEMPTS: usize = 4;

/// A PR Out run: the host, the options its registrations use, where notes
/// go.
pub(super) struct Tool<'a, 'f, F: ToolNexuses> {
    pub(super) h: &'a mut Host<'f, F>,
    pub(super) opts: PrOptions,
    pub(super) verbose: u8,
    pub(super) err: &'a mut dyn Write,
}

fn holds(k: u64, t: PrType, key: u64) -> bool {
    k == key || (k == 0 && t.all_registrants())
}

fn describe(r: Option<(u64, PrType)>) -> String {
    match r {
        None => String::from("no reservation"),
        Some((k, t)) => format!("key 0x{k:x} ({})", show::type_name(scsi_type(t))),
    }
}

fn host_failure(e: &HostError) -> Failure {
    let status = match e {
        HostError::Reservation(PrError::Conflict | PrError::NotHolder | PrError::Fenced) => {
            ExitStatus::ReservationConflict
        }
        HostError::Reservation(PrError::Refused) => ExitStatus::IllegalRequest,
        HostError::Reservation(PrError::NoPath) => ExitStatus::NoPath,
        _ => ExitStatus::Other,
    };
    Failure::new(status, e.to_string())
}

impl<F: ToolNexuses> Tool<'_, '_, F> {
    fn note(&mut self, level: u8, msg: &str) {
        if self.verbose >= level {
            let _ = writeln!(self.err, "{msg}");
        }
    }

    fn op(&mut self, op: PrOp) -> Result<PrReport, Failure> {
        self.h.op(op).map_err(|e| host_failure(&e))
    }

    /// Every registered key (READ KEYS, raw).
    fn keys(&mut self) -> Result<Vec<u64>, Failure> {
        let data = show::pr_in(self.h.fabric(), PrInAction::ReadKeys)?;
        match PrInRepr::parse_bytes(PrInAction::ReadKeys, &data) {
            Ok(PrInRepr::ReadKeys { keys, .. }) => Ok(keys.iter().collect()),
            Ok(_) => Err(Failure::new(ExitStatus::Malformed, "READ KEYS")),
            Err(e) => Err(Failure::new(
                ExitStatus::Malformed,
                format!("READ KEYS: {e}"),
            )),
        }
    }

    fn count(&mut self, key: u64) -> Result<usize, Failure> {
        Ok(self.keys()?.iter().filter(|&&k| k == key).count())
    }

    /// The reservation (READ RESERVATION, raw).
    fn reservation(&mut self) -> Result<Option<(u64, PrType)>, Failure> {
        let data = show::pr_in(self.h.fabric(), PrInAction::ReadReservation)?;
        match PrInRepr::parse_bytes(PrInAction::ReadReservation, &data) {
            Ok(PrInRepr::ReadReservation { reservation, .. }) => {
                Ok(reservation.map(|r| (r.key, core_type(r.pr_type))))
            }
            Ok(_) => Err(Failure::new(ExitStatus::Malformed, "READ RESERVATION")),
            Err(e) => Err(Failure::new(
                ExitStatus::Malformed,
                format!("READ RESERVATION: {e}"),
            )),
        }
    }

    /// A PR Out command sent raw on nexus `i`, with this run's options.
    fn raw(&mut self, i: usize, cmd: PrCommand) -> Result<(), Failure> {
        let fabric = self.h.fabric();
        let x = pr_transport::execute(&self.opts, cmd, |c| fabric.send(i, c));
        match x.answer {
            PrAnswer::Done => Ok(()),
            PrAnswer::Conflict => Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!("{cmd:?} on nexus {i}: reservation conflict"),
            )),
            PrAnswer::Refused => Err(Failure::new(
                ExitStatus::IllegalRequest,
                format!("{cmd:?} on nexus {i}: refused by the target"),
            )),
            other => Err(Failure::new(
                ExitStatus::Other,
                format!("{cmd:?} on nexus {i}: {other:?}"),
            )),
        }
    }

    fn first_up(&mut self) -> Result<usize, Failure> {
        let f = self.h.fabric();
        (0..f.nexus_count())
            .find(|&i| f.is_up(i))
            .ok_or_else(|| Failure::new(ExitStatus::NoPath, "no nexus is up"))
    }

    /// REPORT CAPABILITIES (raw).
    fn capabilities(&mut self) -> Result<Capabilities, Failure> {
        let data = show::pr_in(self.h.fabric(), PrInAction::ReportCapabilities)?;
        match PrInRepr::parse_bytes(PrInAction::ReportCapabilities, &data) {
            Ok(PrInRepr::ReportCapabilities(c)) => Ok(c),
            Ok(_) => Err(Failure::new(ExitStatus::Malformed, "REPORT CAPABILITIES")),
            Err(e) => Err(Failure::new(
                ExitStatus::Malformed,
                format!("REPORT CAPABILITIES: {e}"),
            )),
        }
    }

    pub(super) fn prout(&mut self, r: &OutRequest) -> Result<(), Failure> {
        // Asked first: a target that refuses the bit refuses every
        // registration, which the coordinator can only report as "no
        // registered path"; nothing is sent before the answer.
        let spec_i_pt = r.action == OutAction::Register && !r.transport_ids.is_empty();
        if r.aptpl || r.all_tg_pt || spec_i_pt {
            let c = self.capabilities()?;
            for (asked, capable, what) in [
                (r.aptpl, c.ptpl_c, "APTPL (PTPL_C)"),
                (r.all_tg_pt, c.atp_c, "ALL_TG_PT (ATP_C)"),
                (spec_i_pt, c.sip_c, "SPEC_I_PT, --transport-id (SIP_C)"),
            ] {
                if asked && !capable {
                    return Err(Failure::new(
                        ExitStatus::IllegalRequest,
                        format!(
                            "the target does not support {what}, says REPORT CAPABILITIES: \
                             nothing sent"
                        ),
                    ));
                }
            }
        }
        let rtype = r.rtype.unwrap_or(PrType::WriteExclusiveRegistrantsOnly);
        match r.action {
            OutAction::RegisterMove => self.register_move(r),
            OutAction::Register | OutAction::RegisterIgnore if r.sark != 0 => self.register(r),
            OutAction::Register | OutAction::RegisterIgnore => self.unregister(r),
            OutAction::Reserve => {
                self.join(r.rk)?;
                self.reserve(r.rk, rtype)
            }
            OutAction::Release => self.release(r),
            OutAction::Clear => {
                self.join(r.rk)?;
                self.op(PrOp::Clear)?;
                let left = self.keys()?;
                if !left.is_empty() {
                    return Err(Failure::new(
                        ExitStatus::Other,
                        format!("CLEAR answered GOOD but {} keys are registered", left.len()),
                    ));
                }
                Ok(())
            }
            OutAction::Preempt | OutAction::PreemptAbort => {
                self.join(r.rk)?;
                self.op(PrOp::Preempt {
                    victim: r.sark,
                    rtype,
                    abort: r.action == OutAction::PreemptAbort,
                })?;
                if r.sark != 0 && r.sark != r.rk {
                    let left = self.count(r.sark)?;
                    if left > 0 {
                        return Err(Failure::new(
                            ExitStatus::Other,
                            format!(
                                "PREEMPT answered GOOD but key 0x{:x} is still registered \
                                 {left} time(s)",
                                r.sark
                            ),
                        ));
                    }
                }
                Ok(())
            }
        }
    }

    /// Register `key` on this run's nexuses, but only if it is registered
    /// somewhere already: a key that is gone was preempted (or never
    /// registered), and registering it again would slip behind the fence.
    fn join(&mut self, key: u64) -> Result<(), Failure> {
        if self.count(key)? == 0 {
            return Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!(
                    "key 0x{key:x} is not registered: never registered, or another host \
                     preempted it (fenced); register it with --register first"
                ),
            ));
        }
        self.register_key(key, true).map(drop)
    }

    /// Register `key` on every nexus through the coordinator, then, with
    /// `sweep`, remove its registrations on I_T nexuses this run did not
    /// log in (see the module docs). Without: they are SPEC_I_PT's, and
    /// stay.
    fn register_key(&mut self, key: u64, sweep: bool) -> Result<PrReport, Failure> {
        let report = self.op(PrOp::Register(key))?;
        let mine = report.registered.count_ones();
        let ours = report.keys.map_or(0, |(ours, _)| ours);
        if ours <= mine || self.opts.all_tg_pt() || !sweep {
            return Ok(report);
        }
        self.note(
            1,
            &format!(
                "key 0x{key:x}: {} registration(s) on I_T nexuses this run did not log in \
                 (earlier sessions); removing them",
                ours - mine
            ),
        );
        let held = self.reservation()?;
        let mine = match held {
            // A single-holder reservation of ours, through a nexus that
            // may be one of this run's: unregistering that one would
            // release it. The coordinator's own move does it instead: a
            // PREEMPT of our key from one of our nexuses (every other
            // registration of the key goes, the reservation moves there
            // with its type), then the others register again.
            Some((k, t)) if k == key && !t.all_registrants() => self
                .op(PrOp::Preempt {
                    victim: key,
                    rtype: t,
                    abort: false,
                })?
                .registered
                .count_ones(),
            // Nothing of ours has a single holder, so no unregistration
            // releases anything: unregister ours, leave one nexus the
            // key's only registration, register the rest again.
            _ => {
                self.op(PrOp::Unregister)?;
                let i = self.first_up()?;
                self.sweep(i, key, held)?;
                self.op(PrOp::Register(key))?.registered.count_ones()
            }
        };
        let ours = u32::try_from(self.count(key)?).unwrap_or(u32::MAX);
        if ours != mine {
            return Err(Failure::new(
                ExitStatus::Other,
                format!(
                    "key 0x{key:x} is registered {ours} times after registering it on {mine} \
                     nexus(es)"
                ),
            ));
        }
        Ok(report)
    }

    /// Leave nexus `i` the only registration of `key`: register it there,
    /// then preempt the key itself from there (a reservation the key holds
    /// moves to `i` with its type, `held`).
    fn sweep(&mut self, i: usize, key: u64, held: Option<(u64, PrType)>) -> Result<(), Failure> {
        self.raw(i, PrCommand::Register { key })?;
        let rtype = held.map_or(PrType::WriteExclusiveRegistrantsOnly, |(_, t)| t);
        self.raw(
            i,
            PrCommand::Preempt {
                key,
                victim: key,
                rtype,
                abort: false,
            },
        )
    }

    fn register(&mut self, r: &OutRequest) -> Result<(), Failure> {
        if r.action == OutAction::Register && r.rk != 0 && self.count(r.rk)? == 0 {
            return Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!(
                    "--param-rk 0x{:x} is not registered (REGISTER needs the key registered \
                     now, or 0)",
                    r.rk
                ),
            ));
        }
        let spec_i_pt = !r.transport_ids.is_empty();
        if spec_i_pt {
            let i = self.spec_i_pt(r)?;
            self.note(
                1,
                &format!(
                    "SPEC_I_PT on nexus {i} registered key 0x{:x} for {}",
                    r.sark,
                    r.transport_ids
                        .iter()
                        .map(Tid::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            );
        }
        let report = self.register_key(r.sark, !spec_i_pt)?;
        if spec_i_pt && !self.opts.all_tg_pt() {
            // The initiator ports named hold the key too: more
            // registrations of it than this run's nexuses.
            let mine = usize::try_from(report.registered.count_ones()).unwrap_or(usize::MAX);
            let all = self.count(r.sark)?;
            if all <= mine {
                return Err(Failure::new(
                    ExitStatus::Other,
                    format!(
                        "REGISTER with SPEC_I_PT answered GOOD but key 0x{:x} is registered \
                         {all} time(s), on this run's {mine} nexus(es) alone",
                        r.sark
                    ),
                ));
            }
        }
        if r.rk != 0 && r.rk != r.sark && self.count(r.rk)? > 0 {
            // The old key on I_T nexuses this run did not log in: preempt
            // it, keeping a reservation it held (and its type).
            let held = self.reservation()?;
            let rtype = held.map_or(PrType::WriteExclusiveRegistrantsOnly, |(_, t)| t);
            self.op(PrOp::Preempt {
                victim: r.rk,
                rtype,
                abort: false,
            })?;
        }
        Ok(())
    }

    fn unregister(&mut self, r: &OutRequest) -> Result<(), Failure> {
        let key = r.rk;
        if r.action == OutAction::Register && self.count(key)? == 0 {
            return Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!("key 0x{key:x} is not registered"),
            ));
        }
        self.op(PrOp::Unregister)?;
        if key == 0 {
            self.note(
                1,
                "without --param-rk only this run's nexuses were unregistered",
            );
            return Ok(());
        }
        if self.count(key)? > 0 {
            // Registrations of earlier sessions: gather them on one nexus
            // (a reservation the key held moves there) and drop that one,
            // which releases the reservation too (SPC-4 5.13.11.2.3).
            let held = self.reservation()?;
            let i = self.first_up()?;
            self.sweep(i, key, held)?;
            self.raw(i, PrCommand::Unregister)?;
        }
        let left = self.count(key)?;
        if left > 0 {
            return Err(Failure::new(
                ExitStatus::Other,
                format!("key 0x{key:x} is still registered {left} time(s)"),
            ));
        }
        Ok(())
    }

    fn reserve(&mut self, key: u64, t: PrType) -> Result<(), Failure> {
        match self.h.op(PrOp::Reserve(t)) {
            Ok(_) => {}
            Err(HostError::Reservation(PrError::Conflict)) => {
                // A nexus of an earlier run may hold it already: that is
                // this host's reservation, as libmpathpersist counts it.
                return match self.reservation()? {
                    Some((k, held)) if holds(k, held, key) && held == t => {
                        self.note(1, "the reservation is this host's already");
                        Ok(())
                    }
                    other => Err(Failure::new(
                        ExitStatus::ReservationConflict,
                        format!(
                            "reservation conflict: {} holds the reservation",
                            describe(other)
                        ),
                    )),
                };
            }
            Err(e) => return Err(host_failure(&e)),
        }
        match self.reservation()? {
            Some((k, held)) if holds(k, held, key) && held == t => Ok(()),
            other => Err(Failure::new(
                ExitStatus::Other,
                format!(
                    "RESERVE answered GOOD but READ RESERVATION shows {}",
                    describe(other)
                ),
            )),
        }
    }

    fn release(&mut self, r: &OutRequest) -> Result<(), Failure> {
        // A RELEASE with no reservation is GOOD on the wire and changes
        // nothing; a fencing script that asked to release must not read
        // that as done.
        let Some((k, t)) = self.reservation()? else {
            return Err(Failure::new(
                ExitStatus::Other,
                String::from("there is no reservation: nothing to release, nothing sent"),
            ));
        };
        if !holds(k, t, r.rk) || (k == 0 && self.count(r.rk)? == 0) {
            return Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!(
                    "the reservation is held by {}, not by this host's key 0x{:x}: nothing \
                     released",
                    describe(Some((k, t))),
                    r.rk
                ),
            ));
        }
        if let Some(want) = r.rtype.filter(|&want| want != t) {
            return Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!(
                    "--prout-type {} does not match the reservation's type ({}): nothing \
                     released",
                    show::type_name(scsi_type(want)),
                    show::type_name(scsi_type(t))
                ),
            ));
        }
        self.join(r.rk)?;
        self.op(PrOp::Release)?;
        match self.reservation()? {
            Some((k2, t2)) if holds(k2, t2, r.rk) => Err(Failure::new(
                ExitStatus::Other,
                format!(
                    "RELEASE answered GOOD but the reservation is still held by {}",
                    describe(Some((k2, t2)))
                ),
            )),
            _ => Ok(()),
        }
    }

    /// One line per nexus: portal, link, registration state, holder.
    pub(super) fn status(&mut self) {
        let key_set = self.h.coordinator().key().is_some();
        let holder = self.h.holder();
        for i in 0..self.h.fabric().nexus_count() {
            let portal = self.h.fabric().portal(i);
            let up = self.h.fabric().probe(i) != ProbeResult::Down;
            let state = self.h.path(i).and_then(|p| self.h.coordinator().state(p));
            let state = match (state, key_set) {
                (Some(RegState::Registered), true) => "registered",
                (Some(RegState::Registering), _) => "registering",
                (Some(RegState::Failed), _) => "registration failed",
                (Some(RegState::Stale), _) => "stale",
                _ => "not registered",
            };
            let _ = writeln!(
                self.err,
                "nexus {i} {portal}: {}, {state}{}",
                if up { "up" } else { "down" },
                if holder == Some(i) {
                    ", reservation holder"
                } else {
                    ""
                }
            );
        }
        if self.h.coordinator().is_fenced() {
            let _ = writeln!(self.err, "fenced: another host preempted our registration");
        }
    }
}
