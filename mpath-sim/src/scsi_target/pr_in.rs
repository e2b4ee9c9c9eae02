//! PERSISTENT RESERVE IN (SPC-4 6.16), emitted with mpath-scsi's
//! [`PrInRepr`].
//!
//! The whole response is built and then cut to the ALLOCATION LENGTH, so
//! ADDITIONAL LENGTH still counts every key or descriptor (SPC-4 6.16.2):
//! the host learns how much to ask for.
//!
//! REPORT CAPABILITIES says: SIP_C (SPEC_I_PT), ATP_C (ALL_TG_PT), PTPL_C
//! (APTPL) supported, PTPL_A as it stands, TMV with all six types, ALLOW
//! COMMANDS 001b (TEST UNIT READY passes Write Exclusive and Exclusive
//! Access reservations; SPC-4 table 175), no CRH (no SPC-2 RESERVE/RELEASE
//! here) and no RLR_C (no REPLACE LOST RESERVATION).

use mpath_scsi::pr_in::{Capabilities, FullStatus, PrTypeMask, Reservation as WireReservation};
use mpath_scsi::{List, PrInAction, PrInRepr};

use super::response::{self, asc, Failure, Response};
use super::LogicalUnit;

impl LogicalUnit {
    pub(super) fn persistent_reserve_in(
        &mut self,
        action: PrInAction,
        alloc_len: usize,
        data_in: &mut [u8],
    ) -> Result<Response, Failure> {
        let generation = self.pr.generation;
        let keys: Vec<u64>;
        let statuses: Vec<FullStatus<'_>>;
        let repr = match action {
            PrInAction::ReadKeys => {
                keys = self.pr.registrations.iter().map(|r| r.key).collect();
                PrInRepr::ReadKeys {
                    generation,
                    keys: List::Items(&keys),
                }
            }
            PrInAction::ReadReservation => PrInRepr::ReadReservation {
                generation,
                reservation: self.pr.reservation.map(|r| WireReservation {
                    key: self.pr.holder_key().unwrap_or(0),
                    pr_type: r.pr_type,
                }),
            },
            PrInAction::ReportCapabilities => PrInRepr::ReportCapabilities(Capabilities {
                rlr_c: false,
                crh: false,
                sip_c: true,
                atp_c: true,
                ptpl_c: true,
                tmv: true,
                allow_commands: 1,
                ptpl_a: self.pr.aptpl,
                types: PrTypeMask::all(),
            }),
            PrInAction::ReadFullStatus => {
                statuses = self
                    .pr
                    .registrations
                    .iter()
                    .filter_map(|r| {
                        let holds = self.pr.holds(r);
                        Some(FullStatus {
                            key: r.key,
                            all_tg_pt: r.all_tg_pt(),
                            r_holder: holds,
                            pr_type: self.pr.reservation.filter(|_| holds).map(|x| x.pr_type),
                            // Ignored by the initiator with ALL_TG_PT (SPC-4 6.16.5).
                            relative_target_port: r.port.unwrap_or(0),
                            transport_id: self.initiators.transport_id(r.initiator)?,
                        })
                    })
                    .collect();
                PrInRepr::ReadFullStatus {
                    generation,
                    registrations: List::Items(&statuses),
                }
            }
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        // Cannot fail with a buffer of `buffer_len()`; a failure would be a
        // codec bug and is reported rather than hidden.
        repr.emit(&mut buf)
            .map_err(|_| Failure::illegal(asc::INVALID_FIELD_IN_CDB))?;
        Ok(response::send(&buf, alloc_len, data_in))
    }
}
