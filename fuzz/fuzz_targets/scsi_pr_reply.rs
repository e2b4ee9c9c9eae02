//! PERSISTENT RESERVE responses through the adapter's mapping: any
//! transport verdict, status, sense and data-in decodes without a panic to
//! an answer that fits the command, and resends end.
//!
//! Byte 0: the coordinator command (low 3 bits), ALL_TG_PT scope (bit 3),
//! transport failure (bit 4); byte 1: status; byte 2: sense length; then
//! the sense, then data-in.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mpath_core::reservation::{PrAction, PrCommand, PrType, RegistrationScope};
use mpath_core::PathId;
use mpath_scsi::{PrAnswer, PrOptions, PrStep, ScsiResponse, TransportStatus};

fuzz_target!(|data: &[u8]| {
    let Some((&[sel, status, sense_len], rest)) = data.split_first_chunk::<3>() else {
        return;
    };
    let (sense, data_in) = rest.split_at(usize::from(sense_len).min(rest.len()));
    let rtype = PrType::WriteExclusiveRegistrantsOnly;
    let command = match sel & 0x07 {
        0 => PrCommand::Register { key: 0xA1 },
        1 => PrCommand::Unregister,
        2 => PrCommand::ReadKeys,
        3 => PrCommand::ReadReservation,
        4 => PrCommand::Reserve { key: 0xA1, rtype },
        5 => PrCommand::Release { key: 0xA1, rtype },
        6 => PrCommand::Preempt {
            key: 0xA1,
            victim: 0xB2,
            rtype,
            abort: sel & 0x80 != 0,
        },
        _ => PrCommand::Clear { key: 0xA1 },
    };
    let scope = if sel & 0x08 != 0 {
        RegistrationScope::InitiatorPort
    } else {
        RegistrationScope::Nexus
    };
    let opts = PrOptions::new(scope).expect("SCSI scopes");
    let resp = ScsiResponse {
        transport: if sel & 0x10 != 0 {
            TransportStatus::Disrupted
        } else {
            TransportStatus::Ok
        },
        status,
        sense: (!sense.is_empty()).then_some(sense),
        data_in,
    };
    let via = PathId::from_raw(1);
    let mut sent = opts
        .command(&PrAction { via, command })
        .expect("every command maps");
    for _ in 0..8 {
        let d = opts.decode(&sent, &resp).expect("a PR command");
        match d.step {
            PrStep::Resend(next) => {
                assert_eq!(next.path(), via);
                sent = next;
            }
            PrStep::Answer(a) => {
                match a {
                    PrAnswer::Keys(k) => {
                        assert_eq!(command, PrCommand::ReadKeys);
                        let _ = k.iter().count();
                    }
                    PrAnswer::Reservation(_) => assert_eq!(command, PrCommand::ReadReservation),
                    _ => {}
                }
                if d.data_error.is_some() {
                    assert_eq!(a, PrAnswer::Refused);
                }
                let _ = d.reply(Some(0xA1));
                return;
            }
        }
    }
    panic!("no answer after 8 sends");
});
