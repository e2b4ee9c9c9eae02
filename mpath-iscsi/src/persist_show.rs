//! PERSISTENT RESERVE IN for the `mpathpersist` tool: sent raw on one
//! nexus (they change nothing, so the coordinator need not know), decoded
//! with mpath-scsi's codecs, and printed the way multipath-tools'
//! `mpathpersist` prints them (fence_mpath parses the READ KEYS and READ
//! RESERVATION lines: `0x<key>` after white space, `Key = 0x<key>`).

use std::fmt::Write as _;

use mpath_core::outcome::Outcome;
use mpath_scsi::pr_in::{Capabilities, FullStatus};
use mpath_scsi::{
    cdb, classify, PrIn, PrInAction, PrInRepr, PrType, SenseKey, SenseRepr, TransportId,
};

use super::{ExitStatus, Failure, ToolNexuses};

/// The first ALLOCATION LENGTH: `mpathpersist`'s MPATH_MAX_PARAM_LEN. A
/// READ KEYS or READ FULL STATUS answer that needs more is asked again.
const ALLOC_LEN: u16 = 8192;

/// Sends of one PR IN on one nexus: unit attentions (the reset a fresh
/// login reports, a preemption notice) consume the first ones, as the
/// Linux midlayer retries them.
const ATTEMPTS: usize = 4;

/// The exit status for a CHECK CONDITION with `sense`: `mpathpersist`'s
/// MPATH_PR_* code for its sense key (mpath_persist.h).
pub fn sense_status(sense: Option<&[u8]>) -> ExitStatus {
    let Some(s) = sense.and_then(|b| SenseRepr::parse_bytes(b).ok()) else {
        return ExitStatus::Other;
    };
    match s.key {
        SenseKey::NoSense => ExitStatus::NoSense,
        SenseKey::NotReady => ExitStatus::NotReady,
        SenseKey::MediumError => ExitStatus::MediumError,
        SenseKey::HardwareError => ExitStatus::HardwareError,
        // 20h: INVALID COMMAND OPERATION CODE.
        SenseKey::IllegalRequest if s.asc == 0x20 => ExitStatus::InvalidOp,
        SenseKey::IllegalRequest => ExitStatus::IllegalRequest,
        SenseKey::UnitAttention => ExitStatus::UnitAttention,
        SenseKey::AbortedCommand => ExitStatus::AbortedCommand,
        _ => ExitStatus::Other,
    }
}

/// PERSISTENT RESERVE IN `action` on the first nexus that answers; the
/// parameter data.
pub fn pr_in<F: ToolNexuses>(f: &mut F, action: PrInAction) -> Result<Vec<u8>, Failure> {
    let mut last = Failure::new(ExitStatus::NoPath, "no nexus is logged in");
    for i in 0..f.nexus_count() {
        if !f.is_up(i) {
            continue;
        }
        match pr_in_on(f, i, action) {
            Ok(data) => return Ok(data),
            // Another nexus may answer (mpathpersist tries each path).
            Err(e) if e.status == ExitStatus::Other => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

fn pr_in_on<F: ToolNexuses>(f: &mut F, i: usize, action: PrInAction) -> Result<Vec<u8>, Failure> {
    let mut alloc = ALLOC_LEN;
    for _ in 0..ATTEMPTS {
        let r = f.command(
            i,
            &cdb::persistent_reserve_in(action, alloc),
            None,
            usize::from(alloc),
        );
        let c = classify(r.transport, r.status, r.sense());
        match c.outcome {
            Outcome::Success => {
                let need = PrIn::<&[u8]>::required_len(&r.data, action)
                    .map_err(|e| Failure::new(ExitStatus::Malformed, format!("{e}")))?;
                if need > r.data.len() && r.data.len() == usize::from(alloc) {
                    // More registrations than fitted: ask for all of them.
                    alloc = u16::try_from(need).map_err(|_| {
                        Failure::new(ExitStatus::Malformed, format!("{need} bytes of PR IN data"))
                    })?;
                    continue;
                }
                return Ok(r.data);
            }
            Outcome::Retry { .. } => continue,
            Outcome::ReservationConflict => {
                return Err(Failure::new(
                    ExitStatus::ReservationConflict,
                    "PERSISTENT RESERVE IN: reservation conflict",
                ))
            }
            Outcome::TargetError(_) => {
                return Err(Failure::new(
                    sense_status(r.sense()),
                    format!(
                        "the target refused PERSISTENT RESERVE IN ({})",
                        action.name()
                    ),
                ))
            }
            // Path errors, transport failures (the outcome is
            // non-exhaustive): another nexus may answer.
            other => {
                let why = r.error.map(|m| format!(": {m}")).unwrap_or_default();
                return Err(Failure::new(
                    ExitStatus::Other,
                    format!("nexus {i}: {other:?}{why}"),
                ));
            }
        }
    }
    Err(Failure::new(
        ExitStatus::Other,
        format!("nexus {i}: PERSISTENT RESERVE IN kept meeting unit attentions or busy"),
    ))
}

/// `mpathpersist`'s name for a type.
pub fn type_name(t: PrType) -> &'static str {
    match t {
        PrType::WriteExclusive => "Write Exclusive",
        PrType::ExclusiveAccess => "Exclusive Access",
        PrType::WriteExclusiveRegistrantsOnly => "Write Exclusive, registrants only",
        PrType::ExclusiveAccessRegistrantsOnly => "Exclusive Access, registrants only",
        PrType::WriteExclusiveAllRegistrants => "Write Exclusive, all registrants",
        PrType::ExclusiveAccessAllRegistrants => "Exclusive Access, all registrants",
    }
}

/// Decode `data`, the answer to `action`, and print it as `mpathpersist`
/// does.
pub fn render(action: PrInAction, data: &[u8]) -> Result<String, Failure> {
    let repr = PrInRepr::parse_bytes(action, data)
        .map_err(|e| Failure::new(ExitStatus::Malformed, format!("{}: {e}", action.name())))?;
    let mut s = String::new();
    // Writing to a String cannot fail.
    let _ = match repr {
        PrInRepr::ReadKeys { generation, keys } => {
            let n = keys.iter().count();
            let _ = match n {
                0 => writeln!(s, "  PR generation=0x{generation:x}, \t0 registered reservation key."),
                1 => writeln!(s, "  PR generation=0x{generation:x}, \t1 registered reservation key follows:"),
                n => writeln!(s, "  PR generation=0x{generation:x}, \t{n} registered reservation keys follow:"),
            };
            for k in keys.iter() {
                let _ = writeln!(s, "    0x{k:x}");
            }
            Ok(())
        }
        PrInRepr::ReadReservation {
            generation,
            reservation: None,
        } => writeln!(s, "  PR generation=0x{generation:x}, there is NO reservation held "),
        PrInRepr::ReadReservation {
            generation,
            reservation: Some(r),
        } => writeln!(
            s,
            "  PR generation=0x{generation:x}, Reservation follows:\n   Key = 0x{:x}\n  scope = LU_SCOPE, type = {}",
            r.key,
            type_name(r.pr_type)
        ),
        PrInRepr::ReportCapabilities(c) => capabilities(&mut s, &c),
        PrInRepr::ReadFullStatus {
            generation,
            registrations,
        } => {
            let _ = writeln!(s, "  PR generation=0x{generation:x} ");
            for d in registrations.iter() {
                full_status(&mut s, &d);
            }
            Ok(())
        }
    };
    Ok(s)
}

fn capabilities(s: &mut String, c: &Capabilities) -> std::fmt::Result {
    let b = u8::from;
    writeln!(s, "Report capabilities response:")?;
    writeln!(s, "  Compatible Reservation Handling(CRH): {}", b(c.crh))?;
    writeln!(
        s,
        "  Specify Initiator Ports Capable(SIP_C): {}",
        b(c.sip_c)
    )?;
    writeln!(s, "  All Target Ports Capable(ATP_C): {}", b(c.atp_c))?;
    writeln!(
        s,
        "  Persist Through Power Loss Capable(PTPL_C): {}",
        b(c.ptpl_c)
    )?;
    writeln!(s, "  Type Mask Valid(TMV): {}", b(c.tmv))?;
    writeln!(s, "  Allow Commands: {}", c.allow_commands)?;
    writeln!(
        s,
        "  Persist Through Power Loss Active(PTPL_A): {}",
        b(c.ptpl_a)
    )?;
    if c.tmv {
        writeln!(s, "    Support indicated in Type mask:")?;
        for t in [
            PrType::WriteExclusiveAllRegistrants,
            PrType::ExclusiveAccessRegistrantsOnly,
            PrType::WriteExclusiveRegistrantsOnly,
            PrType::ExclusiveAccess,
            PrType::WriteExclusive,
            PrType::ExclusiveAccessAllRegistrants,
        ] {
            writeln!(s, "      {}: {}", type_name(t), b(c.types.supports(t)))?;
        }
    }
    Ok(())
}

fn full_status(s: &mut String, d: &FullStatus<'_>) {
    let _ = writeln!(s, "   Key = 0x{:x}", d.key);
    if d.all_tg_pt {
        let _ = writeln!(s, "      All target ports bit set");
    } else {
        let _ = writeln!(s, "      All target ports bit clear");
        let _ = writeln!(
            s,
            "      Relative port address: 0x{:x}",
            d.relative_target_port
        );
    }
    match (d.r_holder, d.pr_type) {
        (true, Some(t)) => {
            let _ = writeln!(s, "      << Reservation holder >>");
            let _ = writeln!(s, "      scope: LU_SCOPE,  type: {}", type_name(t));
        }
        _ => {
            let _ = writeln!(s, "      not reservation holder");
        }
    }
    let _ = match d.transport_id {
        TransportId::Iscsi { name, isid: None } => {
            writeln!(s, "   iSCSI name: {}", String::from_utf8_lossy(name))
        }
        TransportId::Iscsi {
            name,
            isid: Some(isid),
        } => writeln!(
            s,
            "   iSCSI world wide unique port id: {},i,0x{}",
            String::from_utf8_lossy(name),
            String::from_utf8_lossy(isid)
        ),
        other => writeln!(s, "   {} transport id: {other:?}", other.protocol()),
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use mpath_scsi::pr_in::Reservation;
    use mpath_scsi::List;

    fn emit(r: &PrInRepr<'_>) -> Vec<u8> {
        let mut b = vec![0; r.buffer_len()];
        r.emit(&mut b).unwrap();
        b
    }

    #[test]
    fn read_keys_and_reservation_print_as_mpathpersist_does() {
        let keys = [0xa1u64, 0x6d70_6174_6800_00b2];
        let b = emit(&PrInRepr::ReadKeys {
            generation: 0x1c,
            keys: List::Items(&keys),
        });
        assert_eq!(
            render(PrInAction::ReadKeys, &b).unwrap(),
            "  PR generation=0x1c, \t2 registered reservation keys follow:\n    0xa1\n    0x6d706174680000b2\n"
        );
        let b = emit(&PrInRepr::ReadKeys {
            generation: 3,
            keys: List::Items(&[]),
        });
        assert_eq!(
            render(PrInAction::ReadKeys, &b).unwrap(),
            "  PR generation=0x3, \t0 registered reservation key.\n"
        );
        let b = emit(&PrInRepr::ReadReservation {
            generation: 4,
            reservation: Some(Reservation {
                key: 0xa1,
                pr_type: PrType::WriteExclusiveRegistrantsOnly,
            }),
        });
        assert_eq!(
            render(PrInAction::ReadReservation, &b).unwrap(),
            "  PR generation=0x4, Reservation follows:\n   Key = 0xa1\n  scope = LU_SCOPE, type = Write Exclusive, registrants only\n"
        );
        let b = emit(&PrInRepr::ReadReservation {
            generation: 5,
            reservation: None,
        });
        assert_eq!(
            render(PrInAction::ReadReservation, &b).unwrap(),
            "  PR generation=0x5, there is NO reservation held \n"
        );
    }

    #[test]
    fn malformed_data_is_exit_status_10() {
        let e = render(PrInAction::ReadKeys, &[0, 0, 0, 1, 0, 0, 0, 12, 0, 0, 0, 0]).unwrap_err();
        assert_eq!(e.status, ExitStatus::Malformed);
    }

    #[test]
    fn sense_keys_map_to_mpathpersist_codes() {
        let sense = |key, asc| {
            let r = SenseRepr::new(mpath_scsi::SenseFormat::Fixed, key, asc, 0);
            let mut b = vec![0; r.buffer_len()];
            r.emit(&mut b).unwrap();
            b
        };
        for (key, asc, want) in [
            (SenseKey::IllegalRequest, 0x24, ExitStatus::IllegalRequest),
            (SenseKey::IllegalRequest, 0x20, ExitStatus::InvalidOp),
            (SenseKey::NotReady, 0x04, ExitStatus::NotReady),
            (SenseKey::UnitAttention, 0x29, ExitStatus::UnitAttention),
            (SenseKey::AbortedCommand, 0, ExitStatus::AbortedCommand),
            (SenseKey::DataProtect, 0x27, ExitStatus::Other),
        ] {
            assert_eq!(sense_status(Some(&sense(key, asc))), want, "{key:?}");
        }
        assert_eq!(sense_status(None), ExitStatus::Other);
    }
}
