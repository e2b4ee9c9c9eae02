use super::*;
use crate::cdb::{CdbRepr, Command};
use crate::classify::{status, TransportStatus};
use crate::error::WireErrorKind;
use crate::sense::{SenseFormat, SenseRepr};
use crate::sense_key::SenseKey;
use alloc::vec;
use alloc::vec::Vec;
use proptest::prelude::*;

const VIA: PathId = PathId::from_raw(0x0001_0002);
/// Keys whose eight bytes all differ, so a byte-order slip shows.
const KEY: u64 = 0x0102_0304_0506_0708;
const VICTIM: u64 = 0x1112_1314_1516_1718;

const NEXUS: PrOptions = PrOptions::DEFAULT;
const fn port() -> PrOptions {
    match PrOptions::new(RegistrationScope::InitiatorPort) {
        Ok(o) => o,
        Err(_) => PrOptions::DEFAULT,
    }
}
const PORT: PrOptions = port();
const NEXUS_APTPL: PrOptions = NEXUS.with_aptpl(true);
const PORT_APTPL: PrOptions = PORT.with_aptpl(true);

/// PR OUT CDB as SPC-4 6.17.1 lays it out: SERVICE ACTION in byte 1 bits
/// 4-0, SCOPE (0h) and TYPE in byte 2, PARAMETER LIST LENGTH in bytes 5-8.
fn out_cdb(sa: u8, scope_type: u8) -> Vec<u8> {
    vec![0x5F, sa, scope_type, 0, 0, 0, 0, 0, 24, 0]
}

/// PR IN CDB (SPC-4 6.16.1): ALLOCATION LENGTH in bytes 7-8.
fn in_cdb(sa: u8, alloc: u16) -> Vec<u8> {
    let [h, l] = alloc.to_be_bytes();
    vec![0x5E, sa, 0, 0, 0, 0, 0, h, l, 0]
}

/// The basic parameter list (SPC-4 6.17.3, table 172): RESERVATION KEY in
/// bytes 0-7, SERVICE ACTION RESERVATION KEY in 8-15, byte 20: SPEC_I_PT
/// 08h, ALL_TG_PT 04h, APTPL 01h.
fn list(key: u64, sa_key: u64, flags: u8) -> Vec<u8> {
    let mut b = vec![0u8; 24];
    b[..8].copy_from_slice(&key.to_be_bytes());
    b[8..16].copy_from_slice(&sa_key.to_be_bytes());
    b[20] = flags;
    b
}

/// Command, options, CDB, parameter list, data-in length.
type Row = (PrCommand, PrOptions, Vec<u8>, Vec<u8>, u32);

fn action(command: PrCommand) -> PrAction {
    PrAction { via: VIA, command }
}

#[test]
fn every_command_maps_to_spc4_fields() {
    use CoreType::*;
    let reserve = |rtype| PrCommand::Reserve { key: KEY, rtype };
    let preempt = |abort| PrCommand::Preempt {
        key: KEY,
        victim: VICTIM,
        rtype: ExclusiveAccessRegistrantsOnly,
        abort,
    };
    #[rustfmt::skip]
    let table: Vec<Row> = vec![
        (PrCommand::Register { key: KEY }, NEXUS, out_cdb(6, 0), list(0, KEY, 0), 0),
        (PrCommand::Register { key: KEY }, PORT, out_cdb(6, 0), list(0, KEY, 0x04), 0),
        (PrCommand::Register { key: KEY }, NEXUS_APTPL, out_cdb(6, 0), list(0, KEY, 0x01), 0),
        (PrCommand::Register { key: KEY }, PORT_APTPL, out_cdb(6, 0), list(0, KEY, 0x05), 0),
        (PrCommand::Unregister, NEXUS, out_cdb(6, 0), list(0, 0, 0), 0),
        // No ALL_TG_PT without a key; APTPL kept so that the last
        // registration does not switch persistence off (SPC-4 5.13.5).
        (PrCommand::Unregister, PORT_APTPL, out_cdb(6, 0), list(0, 0, 0x01), 0),
        (reserve(WriteExclusive), NEXUS, out_cdb(1, 0x01), list(KEY, 0, 0), 0),
        (reserve(ExclusiveAccess), NEXUS, out_cdb(1, 0x03), list(KEY, 0, 0), 0),
        (reserve(WriteExclusiveRegistrantsOnly), PORT_APTPL, out_cdb(1, 0x05), list(KEY, 0, 0), 0),
        (reserve(ExclusiveAccessRegistrantsOnly), NEXUS, out_cdb(1, 0x06), list(KEY, 0, 0), 0),
        (reserve(WriteExclusiveAllRegistrants), NEXUS, out_cdb(1, 0x07), list(KEY, 0, 0), 0),
        (reserve(ExclusiveAccessAllRegistrants), NEXUS, out_cdb(1, 0x08), list(KEY, 0, 0), 0),
        (PrCommand::Release { key: KEY, rtype: WriteExclusiveRegistrantsOnly }, PORT, out_cdb(2, 0x05), list(KEY, 0, 0), 0),
        (preempt(false), NEXUS, out_cdb(4, 0x06), list(KEY, VICTIM, 0), 0),
        (preempt(true), PORT_APTPL, out_cdb(5, 0x06), list(KEY, VICTIM, 0), 0),
        (PrCommand::Clear { key: KEY }, NEXUS, out_cdb(3, 0), list(KEY, 0, 0), 0),
        (PrCommand::ReadKeys, PORT_APTPL, in_cdb(0, 1024), vec![], 1024),
        (PrCommand::ReadReservation, NEXUS, in_cdb(1, 1024), vec![], 1024),
    ];
    for (command, opts, cdb, params, data_in) in table {
        let c = opts.command(&action(command)).unwrap();
        let what = (command, opts);
        assert_eq!(c.cdb(), &cdb[..], "{what:?}");
        assert_eq!(c.data_out(), &params[..], "{what:?}");
        assert_eq!(c.data_in_len(), data_in, "{what:?}");
        assert_eq!(c.path(), VIA);
        assert_eq!(
            c.kind(),
            CommandKind::Reservation {
                command,
                attempt: 1
            }
        );
        // Our own CDB parser reads back what the table says.
        match CdbRepr::parse(c.cdb()).unwrap().command {
            Command::PersistentReserveOut { param_len, .. } => {
                assert_eq!(c.kind().name(), "PERSISTENT RESERVE OUT");
                assert_eq!(usize_from(param_len), c.data_out().len());
                PrOutParams::parse_bytes(c.data_out()).unwrap();
            }
            Command::PersistentReserveIn { alloc_len, .. } => {
                assert_eq!(c.kind().name(), "PERSISTENT RESERVE IN");
                assert_eq!(u32::from(alloc_len), c.data_in_len());
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn scope_decides_all_tg_pt_and_host_scope_is_refused() {
    assert_eq!(PrOptions::default(), NEXUS);
    assert!(!NEXUS.all_tg_pt() && !NEXUS.aptpl());
    assert!(PORT.all_tg_pt() && !PORT.aptpl());
    assert_eq!(PORT.scope(), RegistrationScope::InitiatorPort);
    assert!(PORT_APTPL.aptpl());
    assert_eq!(
        PrOptions::new(RegistrationScope::Host),
        Err(AdapterError::RegistrationScope(RegistrationScope::Host))
    );
}

#[test]
fn types_map_both_ways() {
    for t in PrType::ALL {
        assert_eq!(scsi_type(core_type(t)), t);
    }
}

fn fixed(key: SenseKey, asc: u8, ascq: u8) -> Vec<u8> {
    sense_in(SenseFormat::Fixed, key, asc, ascq)
}

fn sense_in(format: SenseFormat, key: SenseKey, asc: u8, ascq: u8) -> Vec<u8> {
    let r = SenseRepr::new(format, key, asc, ascq);
    let mut b = vec![0u8; r.buffer_len()];
    let n = r.emit(&mut b).unwrap();
    b.truncate(n);
    b
}

/// READ KEYS parameter data (SPC-4 6.16.2): PRGENERATION, ADDITIONAL
/// LENGTH, then the keys.
fn read_keys(keys: &[u64]) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 9];
    b.extend_from_slice(&(u32::try_from(keys.len() * 8).unwrap()).to_be_bytes());
    for k in keys {
        b.extend_from_slice(&k.to_be_bytes());
    }
    b
}

/// READ RESERVATION parameter data (SPC-4 6.16.3).
fn read_reservation(holder: Option<(u64, u8)>) -> Vec<u8> {
    let mut b = vec![0, 0, 0, 9, 0, 0, 0, 0];
    if let Some((key, t)) = holder {
        b[7] = 16;
        b.extend_from_slice(&key.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0, 0, t, 0, 0]);
    }
    b
}

fn decode<'a>(command: PrCommand, resp: &ScsiResponse<'a>) -> PrDecoded<'a> {
    let sent = NEXUS.command(&action(command)).unwrap();
    NEXUS.decode(&sent, resp).unwrap()
}

fn answer_of(d: &PrDecoded<'_>) -> PrAnswer<'static> {
    match d.step {
        PrStep::Answer(PrAnswer::Keys(_) | PrAnswer::FullStatus(_)) => {
            panic!("keys borrow the response")
        }
        PrStep::Answer(PrAnswer::Done) => PrAnswer::Done,
        PrStep::Answer(PrAnswer::Reservation(r)) => PrAnswer::Reservation(r),
        PrStep::Answer(PrAnswer::Conflict) => PrAnswer::Conflict,
        PrStep::Answer(PrAnswer::PathFailed) => PrAnswer::PathFailed,
        PrStep::Answer(PrAnswer::Refused) => PrAnswer::Refused,
        PrStep::Resend(c) => panic!("resend {c:?}"),
    }
}

#[test]
fn good_responses_answer_with_their_data() {
    let unreg = PrCommand::Unregister;
    let d = decode(unreg, &ScsiResponse::GOOD);
    assert_eq!(d.step, PrStep::Answer(PrAnswer::Done));
    assert_eq!((d.notices, d.data_error), (Notices::empty(), None));
    assert_eq!(d.reply(Some(KEY)), Some(PrReply::Done));

    let data = read_keys(&[KEY, VICTIM, KEY]);
    let d = decode(PrCommand::ReadKeys, &ScsiResponse::good(&data));
    let PrStep::Answer(PrAnswer::Keys(keys)) = d.step else {
        panic!("{d:?}")
    };
    assert_eq!(keys.iter().collect::<Vec<_>>(), [KEY, VICTIM, KEY]);
    assert_eq!(
        d.reply(Some(KEY)),
        Some(PrReply::Keys {
            ours: 2,
            total: 3,
            here: None
        })
    );
    assert_eq!(
        d.reply(None),
        Some(PrReply::Keys {
            ours: 0,
            total: 3,
            here: None
        })
    );
    let none = read_keys(&[]);
    let d = decode(PrCommand::ReadKeys, &ScsiResponse::good(&none));
    assert_eq!(
        d.reply(Some(KEY)),
        Some(PrReply::Keys {
            ours: 0,
            total: 0,
            here: None
        })
    );

    for (data, want) in [
        (read_reservation(None), None),
        (
            read_reservation(Some((KEY, 5))),
            Some((KEY, CoreType::WriteExclusiveRegistrantsOnly)),
        ),
        (
            read_reservation(Some((VICTIM, 8))),
            Some((VICTIM, CoreType::ExclusiveAccessAllRegistrants)),
        ),
    ] {
        let d = decode(PrCommand::ReadReservation, &ScsiResponse::good(&data));
        assert_eq!(answer_of(&d), PrAnswer::Reservation(want));
        assert_eq!(d.reply(None), Some(PrReply::Reservation(want)));
    }
}

#[test]
fn conflict_refusal_and_transport_failures() {
    let conflict = ScsiResponse::status(status::RESERVATION_CONFLICT);
    for command in [
        PrCommand::Register { key: KEY },
        PrCommand::ReadKeys,
        PrCommand::Clear { key: KEY },
    ] {
        assert_eq!(answer_of(&decode(command, &conflict)), PrAnswer::Conflict);
    }
    let illegal = fixed(SenseKey::IllegalRequest, 0x24, 0);
    let d = decode(
        PrCommand::Unregister,
        &ScsiResponse::check_condition(&illegal),
    );
    assert_eq!(answer_of(&d), PrAnswer::Refused);
    assert_eq!(d.data_error, None);
    for t in [
        TransportStatus::NoConnect,
        TransportStatus::Disrupted,
        TransportStatus::FailFast,
        TransportStatus::Timeout,
        TransportStatus::Marginal,
        TransportStatus::Aborted,
    ] {
        for command in [PrCommand::ReadKeys, PrCommand::Register { key: KEY }] {
            let d = decode(command, &ScsiResponse::transport(t));
            assert_eq!(answer_of(&d), PrAnswer::PathFailed, "{t:?}");
            assert_eq!(d.reply(Some(KEY)), Some(PrReply::PathFailed));
        }
    }
}

#[test]
fn unit_attentions_are_resent_with_their_notices_until_attempts_run_out() {
    #[rustfmt::skip]
    let table = [
        (0x2A, 0x03, Notices::RESERVATIONS_PREEMPTED),
        (0x2A, 0x04, Notices::RESERVATIONS_RELEASED),
        (0x2A, 0x05, Notices::REGISTRATIONS_PREEMPTED),
        (0x29, 0x00, Notices::RESET_OCCURRED),
        (0x29, 0x07, Notices::RESET_OCCURRED),
    ];
    for format in [SenseFormat::Fixed, SenseFormat::Descriptor] {
        for (asc, ascq, notices) in table {
            let sense = sense_in(format, SenseKey::UnitAttention, asc, ascq);
            let resp = ScsiResponse::check_condition(&sense);
            let command = PrCommand::Register { key: KEY };
            let mut sent = NEXUS.command(&action(command)).unwrap();
            for attempt in 2..=PR_ATTEMPTS {
                let d = NEXUS.decode(&sent, &resp).unwrap();
                assert_eq!(d.notices, notices, "{asc:02x}/{ascq:02x}");
                assert_eq!(d.reply(Some(KEY)), None);
                let PrStep::Resend(next) = d.step else {
                    panic!("{d:?}")
                };
                assert_eq!(next.kind(), CommandKind::Reservation { command, attempt });
                assert_eq!((next.cdb(), next.data_out()), (sent.cdb(), sent.data_out()));
                assert_eq!(next.path(), VIA);
                sent = next;
            }
            let last = NEXUS.decode(&sent, &resp).unwrap();
            assert_eq!(answer_of(&last), PrAnswer::PathFailed);
            assert_eq!(last.notices, notices, "kept on the last attempt");
        }
    }
    let busy = decode(PrCommand::ReadKeys, &ScsiResponse::status(status::BUSY));
    assert!(matches!(busy.step, PrStep::Resend(_)), "{busy:?}");
}

#[test]
fn unusable_data_is_refused_with_the_reason() {
    let kind = |c| CommandKind::Reservation {
        command: c,
        attempt: 1,
    };
    let mut odd = read_keys(&[KEY]);
    odd[7] = 7;
    let mut bad_type = read_reservation(Some((KEY, 5)));
    bad_type[21] = 0x0F;
    let mut bad_len = read_reservation(Some((KEY, 5)));
    bad_len[7] = 12;
    let long = vec![0u8; 1025];
    #[rustfmt::skip]
    let table: Vec<(PrCommand, Vec<u8>, AdapterError)> = vec![
        (PrCommand::ReadKeys, vec![0, 0, 0], WireError::new(WireErrorKind::Truncated, "ADDITIONAL LENGTH", 4).into()),
        (PrCommand::ReadKeys, vec![], WireError::new(WireErrorKind::Truncated, "ADDITIONAL LENGTH", 4).into()),
        (PrCommand::ReadKeys, odd[..15].to_vec(), WireError::new(WireErrorKind::LengthMismatch, "ADDITIONAL LENGTH", 4).into()),
        // Says 16 keys, sends one, well inside the allocation: short data.
        (PrCommand::ReadKeys, { let mut b = read_keys(&[KEY]); b[7] = 128; b }, WireError::new(WireErrorKind::Truncated, "ADDITIONAL LENGTH", 4).into()),
        (PrCommand::ReadReservation, bad_type, WireError::new(WireErrorKind::Reserved, "TYPE", 21).into()),
        (PrCommand::ReadReservation, bad_len, WireError::new(WireErrorKind::LengthMismatch, "ADDITIONAL LENGTH", 4).into()),
        (PrCommand::ReadKeys, long.clone(), AdapterError::UnexpectedData { command: kind(PrCommand::ReadKeys), len: 1025, allowed: 1024 }),
        (PrCommand::Clear { key: KEY }, vec![0], AdapterError::UnexpectedData { command: kind(PrCommand::Clear { key: KEY }), len: 1, allowed: 0 }),
    ];
    for (command, data, why) in table {
        let d = decode(command, &ScsiResponse::good(&data));
        assert_eq!(answer_of(&d), PrAnswer::Refused, "{command:?} {data:02x?}");
        assert_eq!(d.data_error, Some(why), "{command:?} {data:02x?}");
        assert_eq!(d.reply(Some(KEY)), Some(PrReply::Refused));
    }
}

#[test]
fn read_keys_cut_short_by_the_allocation_length_is_asked_again() {
    let all: Vec<u64> = (1..=300).collect();
    let full = read_keys(&all);
    let sent = NEXUS.command(&action(PrCommand::ReadKeys)).unwrap();
    // The target returns what fits in 1024 bytes, with the full length.
    let d = NEXUS
        .decode(&sent, &ScsiResponse::good(&full[..1024]))
        .unwrap();
    let PrStep::Resend(again) = d.step else {
        panic!("{d:?}")
    };
    assert_eq!(again.cdb(), &in_cdb(0, 8 + 300 * 8)[..]);
    assert_eq!(again.data_in_len(), 2408);
    assert_eq!(again.kind(), sent.kind(), "not a failed attempt");
    let d = NEXUS.decode(&again, &ScsiResponse::good(&full)).unwrap();
    assert_eq!(
        d.reply(Some(7)),
        Some(PrReply::Keys {
            ours: 1,
            total: 300,
            here: None
        })
    );

    // More than a 16-bit ALLOCATION LENGTH can ask for.
    let mut huge = vec![0u8; 1024];
    huge[4..8].copy_from_slice(&0x0001_0000u32.to_be_bytes());
    let d = NEXUS.decode(&sent, &ScsiResponse::good(&huge)).unwrap();
    assert_eq!(answer_of(&d), PrAnswer::Refused);
    assert_eq!(
        d.data_error,
        Some(AdapterError::PrInTooLarge {
            required: 0x0001_0008
        })
    );
}

#[test]
fn other_commands_are_not_decoded_here() {
    let sent = ScsiCommand {
        path: VIA,
        kind: CommandKind::Probe,
        cdb: Cdb::from_slice(&cdb::test_unit_ready()),
        data_out: DataOut::NONE,
        data_in_len: 0,
    };
    assert_eq!(
        NEXUS.decode(&sent, &ScsiResponse::GOOD),
        Err(AdapterError::WrongEntry {
            command: CommandKind::Probe
        })
    );
}

fn any_command() -> impl Strategy<Value = PrCommand> {
    let rtype = prop::sample::select(PrType::ALL.to_vec()).prop_map(core_type);
    prop_oneof![
        any::<u64>().prop_map(|key| PrCommand::Register { key }),
        Just(PrCommand::Unregister),
        Just(PrCommand::ReadKeys),
        Just(PrCommand::ReadReservation),
        (any::<u64>(), rtype.clone()).prop_map(|(key, rtype)| PrCommand::Reserve { key, rtype }),
        (any::<u64>(), rtype.clone()).prop_map(|(key, rtype)| PrCommand::Release { key, rtype }),
        (any::<u64>(), any::<u64>(), rtype.clone(), any::<bool>()).prop_map(
            |(key, victim, rtype, abort)| PrCommand::Preempt {
                key,
                victim,
                rtype,
                abort
            }
        ),
        any::<u64>().prop_map(|key| PrCommand::Clear { key }),
        (any::<u64>(), any::<u64>(), rtype, any::<u16>()).prop_map(
            |(key, dest_key, rtype, relative_target_port)| PrCommand::RegisterAndMove {
                key,
                dest_key,
                rtype,
                relative_target_port
            }
        ),
    ]
}

/// A Fibre Channel TransportID for REGISTER AND MOVE (ignored by the
/// other commands).
const FC_TID: [u8; 24] = [
    0, 0, 0, 0, 0, 0, 0, 0, 0x20, 0, 0, 0, 0xC9, 0xAB, 0xCD, 0xEF, 0, 0, 0, 0, 0, 0, 0, 0,
];

proptest! {
    /// Any status, sense and data: no panic, and the answer fits the
    /// command (data answers only for the PR IN that asked for them).
    #[test]
    fn any_response_decodes_to_an_answer_that_fits(
        command in any_command(),
        transport in prop::sample::select(vec![
            TransportStatus::Ok, TransportStatus::Ok, TransportStatus::Ok,
            TransportStatus::Disrupted, TransportStatus::Timeout,
        ]),
        status_byte in prop::sample::select(vec![0u8, 0, 2, 2, 8, 0x18, 0x28, 0x40, 0x7f]),
        sense in proptest::collection::vec(any::<u8>(), 0..40),
        data in proptest::collection::vec(any::<u8>(), 0..64),
        header in proptest::option::of((any::<u32>(), 0u32..80)),
        opts in prop::sample::select(vec![NEXUS, PORT, PORT_APTPL]),
    ) {
        let mut data = data;
        if let (Some((gen, len)), true) = (header, data.len() >= 8) {
            data[..4].copy_from_slice(&gen.to_be_bytes());
            data[4..8].copy_from_slice(&len.to_be_bytes());
        }
        let resp = ScsiResponse {
            transport,
            status: status_byte,
            sense: (!sense.is_empty()).then_some(&sense[..]),
            data_in: &data,
        };
        let mut sent = opts.command_with(&action(command), Some(&FC_TID)).unwrap();
        for _ in 0..8 {
            let d = opts.decode(&sent, &resp).unwrap();
            match d.step {
                PrStep::Resend(next) => {
                    prop_assert_eq!(next.path(), VIA);
                    let CommandKind::Reservation { command: c, attempt } = next.kind() else {
                        panic!("{next:?}")
                    };
                    prop_assert_eq!(c, command);
                    prop_assert!(attempt <= PR_ATTEMPTS);
                    sent = next;
                }
                PrStep::Answer(a) => {
                    match a {
                        PrAnswer::Keys(_) => prop_assert_eq!(command, PrCommand::ReadKeys),
                        PrAnswer::Reservation(_) => prop_assert_eq!(command, PrCommand::ReadReservation),
                        PrAnswer::Done => prop_assert!(!matches!(command, PrCommand::ReadKeys | PrCommand::ReadReservation)),
                        _ => {}
                    }
                    if d.data_error.is_some() {
                        prop_assert_eq!(a, PrAnswer::Refused);
                    }
                    let _ = d.reply(Some(KEY));
                    return Ok(());
                }
            }
        }
        // A resend loop ends within PR_ATTEMPTS sends plus one growth.
        prop_assert!(false, "no answer after 8 sends");
    }
}
