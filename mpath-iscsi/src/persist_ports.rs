//! PERSISTENT RESERVE OUT that names other hosts' initiator ports by
//! TransportID (`--transport-id`): REGISTER with SPEC_I_PT, sent raw from
//! one of the run's unregistered nexuses before the coordinator registers
//! the rest, and REGISTER AND MOVE, which the coordinator sends from the
//! reservation's holder (its rule 12).

use mpath_core::outcome::Outcome;
use mpath_core::reservation::PrOp;
use mpath_scsi::pr_map::scsi_type;
use mpath_scsi::{cdb, classify, List, PrOutAction, PrOutParams, TransportId};

use super::super::tid::Tid;
use super::super::{show, ExitStatus, Failure, OutRequest, ToolNexuses};
use super::{describe, host_failure, Tool, ATTEMPTS};
use crate::nexus::CommandResult;

impl<F: ToolNexuses> Tool<'_, '_, F> {
    /// A PERSISTENT RESERVE OUT sent raw on nexus `i`, again after a unit
    /// attention or a busy target; its outcome and result.
    fn pr_out_raw(&mut self, i: usize, cdb: &[u8], data: &[u8]) -> (Outcome, CommandResult) {
        let mut last = None;
        for _ in 0..ATTEMPTS {
            let r = self.h.fabric().command(i, cdb, Some(data), 0);
            let outcome = classify(r.transport, r.status, r.sense()).outcome;
            if !matches!(outcome, Outcome::Retry { .. }) {
                return (outcome, r);
            }
            last = Some((outcome, r));
        }
        last.unwrap_or_else(|| {
            (
                Outcome::PathError(mpath_core::PathErrorKind::Transport),
                CommandResult::no_nexus(i),
            )
        })
    }

    /// REGISTER with SPEC_I_PT (SARK for this nexus and every initiator
    /// port of the request's TransportIDs), raw, on the first up nexus that
    /// is not registered: SPC-4 5.13.7 lets only an unregistered I_T nexus
    /// send it, and a registered one (RESERVATION KEY 0 is not its key) is
    /// answered RESERVATION CONFLICT. The nexus it went out on.
    pub(super) fn spec_i_pt(&mut self, r: &OutRequest) -> Result<usize, Failure> {
        let ids: Vec<TransportId<'_>> = r.transport_ids.iter().map(Tid::transport_id).collect();
        let params = PrOutParams {
            spec_i_pt: true,
            all_tg_pt: r.all_tg_pt,
            aptpl: r.aptpl,
            transport_ids: List::Items(&ids),
            ..PrOutParams::new(0, r.sark)
        };
        let mut data = vec![0; params.buffer_len()];
        params
            .emit(&mut data)
            .map_err(|e| Failure::new(ExitStatus::SyntaxError, format!("--transport-id: {e}")))?;
        let len = u32::try_from(data.len())
            .map_err(|_| Failure::new(ExitStatus::SyntaxError, "too many TransportIDs"))?;
        let c = cdb::persistent_reserve_out(PrOutAction::Register, None, len);
        let mut last = Failure::new(
            ExitStatus::ReservationConflict,
            "every nexus of this run is registered already: SPEC_I_PT must come from an \
             unregistered I_T nexus (SPC-4 5.13.7); unregister this host's key first",
        );
        for i in 0..self.h.fabric().nexus_count() {
            if !self.h.fabric().is_up(i) {
                continue;
            }
            let (outcome, res) = self.pr_out_raw(i, &c, &data);
            match outcome {
                Outcome::Success => return Ok(i),
                Outcome::ReservationConflict => {
                    self.note(
                        1,
                        &format!("nexus {i} is registered: SPEC_I_PT tried on the next"),
                    );
                }
                Outcome::TargetError(_) => {
                    return Err(Failure::new(
                        show::sense_status(res.sense()),
                        format!(
                            "REGISTER with SPEC_I_PT on nexus {i} refused by the target \
                             (a TransportID it does not take, or one registered already)"
                        ),
                    ))
                }
                other => {
                    last = Failure::new(
                        ExitStatus::Other,
                        format!("REGISTER with SPEC_I_PT on nexus {i}: {other:?}"),
                    );
                }
            }
        }
        Err(last)
    }

    /// REGISTER AND MOVE through the coordinator (rule 12): the
    /// reservation `rk` holds to the I_T nexus of the one TransportID,
    /// registered with `sark`.
    pub(super) fn register_move(&mut self, r: &OutRequest) -> Result<(), Failure> {
        let [dest] = r.transport_ids.as_slice() else {
            return Err(Failure::new(
                ExitStatus::SyntaxError,
                "--register-move needs exactly one --transport-id",
            ));
        };
        let tid = dest
            .to_bytes()
            .map_err(|e| Failure::new(ExitStatus::SyntaxError, e))?;
        let Some((k, t)) = self.reservation()? else {
            return Err(Failure::new(
                ExitStatus::Other,
                "there is no reservation: nothing to move, nothing sent",
            ));
        };
        if t.all_registrants() {
            return Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!(
                    "an all-registrants reservation ({}) has no holder to move (SPC-4 5.13.8: \
                     RESERVATION CONFLICT): nothing sent",
                    show::type_name(scsi_type(t))
                ),
            ));
        }
        if k != r.rk {
            return Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!(
                    "the reservation is held by {}, not by this host's key 0x{:x}: nothing moved",
                    describe(Some((k, t))),
                    r.rk
                ),
            ));
        }
        if let Some(want) = r.rtype.filter(|&want| want != t) {
            return Err(Failure::new(
                ExitStatus::ReservationConflict,
                format!(
                    "--prout-type {} does not match the reservation's type ({}): nothing moved",
                    show::type_name(scsi_type(want)),
                    show::type_name(scsi_type(t))
                ),
            ));
        }
        self.join(r.rk)?;
        if self.h.holder().is_none() {
            // Held through a nexus this run did not log in (an earlier
            // run's session), or one it does not know holds it: a PREEMPT
            // of our own key takes it to one of this run's, as a release
            // does (rule 5); only the holder may move it.
            self.note(
                1,
                "taking the reservation over to a nexus of this run first",
            );
            self.op(PrOp::Preempt {
                victim: r.rk,
                rtype: t,
                abort: false,
            })?;
        }
        let holder = self.h.holder().ok_or_else(|| {
            Failure::new(
                ExitStatus::Other,
                "no nexus of this run holds the reservation after taking it over",
            )
        })?;
        // The holder's port by default; a target that names no relative
        // target port (tgt) has one, numbered 1.
        let port = r
            .relative_target_port
            .or_else(|| self.h.relative_target_port(holder))
            .unwrap_or(1);
        self.note(
            1,
            &format!(
                "REGISTER AND MOVE from nexus {holder} to {dest} on relative target port {port}"
            ),
        );
        self.h
            .move_to(&tid, port, r.sark)
            .map_err(|e| host_failure(&e))?;
        match self.reservation()? {
            Some((k2, t2)) if k2 != r.rk && t2 == t => Ok(()),
            // The destination was registered with our key already (by
            // SPEC_I_PT, say): READ RESERVATION cannot tell the holders
            // apart.
            Some((k2, t2))
                if k2 == r.rk && t2 == t && self.h.coordinator().reservation().is_none() =>
            {
                self.note(
                    1,
                    "the destination holds the reservation with this host's key: it was \
                     registered with it already",
                );
                Ok(())
            }
            other => Err(Failure::new(
                ExitStatus::Other,
                format!(
                    "REGISTER AND MOVE answered GOOD but READ RESERVATION shows {}",
                    describe(other)
                ),
            )),
        }
    }
}
