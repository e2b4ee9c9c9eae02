//! REGISTER AND MOVE: the coordinator's command and the destination
//! TransportID it keeps, as PERSISTENT RESERVE OUT bytes laid out by hand
//! from SPC-4 6.17.1 (CDB) and 6.17.4 (table 174, the parameter list).

use super::*;
use crate::classify::status;
use crate::error::WireErrorKind;
use crate::sense::SenseFormat;
use crate::sense::SenseRepr;
use crate::sense_key::SenseKey;
use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use mpath_core::reservation::{PrType as CoreType, TRANSPORT_ID_MAX};

const VIA: PathId = PathId::from_raw(0x0001_0002);
/// Keys whose eight bytes all differ, so a byte-order slip shows.
const KEY: u64 = 0x0102_0304_0506_0708;
const DEST: u64 = 0x1112_1314_1516_1718;

/// An iSCSI initiator port TransportID (SPC-4 7.6.4.6, FORMAT CODE 01b):
/// byte 0 FORMAT CODE 01b and PROTOCOL IDENTIFIER 5h (45h), byte 1
/// reserved, bytes 2-3 ADDITIONAL LENGTH (a multiple of 4, at least 20),
/// then the name, ",i,0x", the ISID in hex, and NUL padding.
fn iscsi_tid(name: &str, isid: &str) -> Vec<u8> {
    let mut text = format!("{name},i,0x{isid}").into_bytes();
    text.push(0);
    while text.len() % 4 != 0 || text.len() < 20 {
        text.push(0);
    }
    let mut b = vec![0x45, 0];
    b.extend_from_slice(&u16::try_from(text.len()).unwrap().to_be_bytes());
    b.extend_from_slice(&text);
    b
}

/// A Fibre Channel TransportID (SPC-4 7.6.4.2): 24 bytes, PROTOCOL
/// IDENTIFIER 0h, N_PORT_NAME in bytes 8-15.
fn fc_tid(wwpn: u64) -> Vec<u8> {
    let mut b = vec![0u8; 24];
    b[8..16].copy_from_slice(&wwpn.to_be_bytes());
    b
}

fn mv(rtype: CoreType, port: u16) -> PrAction {
    PrAction {
        via: VIA,
        command: PrCommand::RegisterAndMove {
            key: KEY,
            dest_key: DEST,
            rtype,
            relative_target_port: port,
        },
    }
}

/// The REGISTER AND MOVE parameter list (SPC-4 table 174): RESERVATION KEY
/// 0-7, SERVICE ACTION RESERVATION KEY 8-15, byte 16 reserved, byte 17
/// UNREG (02h) and APTPL (01h), RELATIVE TARGET PORT IDENTIFIER 18-19,
/// TRANSPORTID PARAMETER DATA LENGTH 20-23, the TransportID from 24.
fn move_list(flags: u8, port: u16, tid: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 24];
    b[..8].copy_from_slice(&KEY.to_be_bytes());
    b[8..16].copy_from_slice(&DEST.to_be_bytes());
    b[17] = flags;
    b[18..20].copy_from_slice(&port.to_be_bytes());
    b[20..24].copy_from_slice(&u32::try_from(tid.len()).unwrap().to_be_bytes());
    b.extend_from_slice(tid);
    b
}

/// PR OUT CDB (SPC-4 6.17.1): SERVICE ACTION 07h in byte 1, SCOPE 0h and
/// TYPE in byte 2, PARAMETER LIST LENGTH in bytes 5-8.
fn move_cdb(pr_type: u8, len: usize) -> Vec<u8> {
    let [a, b, c, d] = u32::try_from(len).unwrap().to_be_bytes();
    vec![0x5F, 0x07, pr_type, 0, 0, a, b, c, d, 0]
}

/// Action, options, TransportID, CDB, parameter list.
type Row<'a> = (PrAction, PrOptions, &'a [u8], Vec<u8>, Vec<u8>);

#[test]
fn register_and_move_carries_the_destination_transport_id() {
    let iscsi = iscsi_tid("iqn.2024-01.org.mpath:host-b", "800053494d01");
    assert_eq!(iscsi.len(), 4 + 48);
    let fc = fc_tid(0x2000_0000_C9AB_CDEF);
    let aptpl = PrOptions::DEFAULT.with_aptpl(true);
    #[rustfmt::skip]
    let table: Vec<Row<'_>> = vec![
        (mv(CoreType::WriteExclusive, 2), PrOptions::DEFAULT, &iscsi, move_cdb(0x01, 76), move_list(0, 2, &iscsi)),
        (mv(CoreType::ExclusiveAccess, 0x0102), PrOptions::DEFAULT, &fc, move_cdb(0x03, 48), move_list(0, 0x0102, &fc)),
        // APTPL as on the registrations (SPC-4 5.13.5: the latest sets
        // it); UNREG never.
        (mv(CoreType::WriteExclusiveRegistrantsOnly, 1), aptpl, &fc, move_cdb(0x05, 48), move_list(0x01, 1, &fc)),
        (mv(CoreType::ExclusiveAccessRegistrantsOnly, 1), PrOptions::DEFAULT, &iscsi, move_cdb(0x06, 76), move_list(0, 1, &iscsi)),
    ];
    for (a, opts, tid, cdb, params) in table {
        let c = opts.command_with(&a, Some(tid)).unwrap();
        assert_eq!(c.cdb(), &cdb[..], "{a:?}");
        assert_eq!(c.data_out(), &params[..], "{a:?}");
        assert_eq!(c.data_in_len(), 0);
        assert_eq!(c.path(), VIA);
        assert_eq!(c.kind().name(), "PERSISTENT RESERVE OUT");
        assert_eq!(
            c.kind(),
            CommandKind::Reservation {
                command: a.command,
                attempt: 1
            }
        );
        // Our own codec reads back what the table says.
        let p = RegisterAndMoveParams::parse_bytes(c.data_out()).unwrap();
        assert!(!p.unreg);
        assert_eq!(p.aptpl, opts.aptpl());
    }
}

#[test]
fn the_longest_transport_id_fits_the_command() {
    // A 223-byte iSCSI name with an ISID: the longest SPC-4 TransportID.
    let name = format!("iqn.2024-01.org.mpath:{}", "x".repeat(223 - 22));
    assert_eq!(name.len(), 223);
    let tid = iscsi_tid(&name, "800053494d01");
    assert_eq!(tid.len(), 248);
    assert!(tid.len() <= TRANSPORT_ID_MAX);
    let c = PrOptions::DEFAULT
        .command_with(&mv(CoreType::WriteExclusive, 1), Some(&tid))
        .unwrap();
    assert_eq!(c.data_out(), &move_list(0, 1, &tid)[..]);
    assert_eq!(c.cdb()[5..9], [0, 0, 1, 16]);
}

#[test]
fn without_a_whole_transport_id_register_and_move_is_refused() {
    let a = mv(CoreType::WriteExclusive, 1);
    let fc = fc_tid(7);
    assert_eq!(
        PrOptions::DEFAULT.command(&a),
        Err(AdapterError::NoMoveDestination)
    );
    assert_eq!(
        PrOptions::DEFAULT.command_with(&a, None),
        Err(AdapterError::NoMoveDestination)
    );
    // Cut short, unknown layout, and bytes after the TransportID: each
    // names its field.
    let short = PrOptions::DEFAULT.command_with(&a, Some(&fc[..20]));
    assert!(
        matches!(short, Err(AdapterError::Wire(e)) if e.kind == WireErrorKind::Truncated),
        "{short:?}"
    );
    let mut bad = iscsi_tid("iqn.x:y", "1");
    bad[3] = 21;
    assert!(matches!(
        PrOptions::DEFAULT.command_with(&a, Some(&bad)),
        Err(AdapterError::Wire(_))
    ));
    let mut long = fc.clone();
    long.extend_from_slice(&[0; 4]);
    assert_eq!(
        PrOptions::DEFAULT.command_with(&a, Some(&long)),
        Err(AdapterError::Wire(WireError::mismatch("TransportID", 24)))
    );
    // Every other command ignores it: an embedder passes the
    // coordinator's `move_destination` for every action.
    for command in [
        PrCommand::ReadKeys,
        PrCommand::Register { key: KEY },
        PrCommand::Release {
            key: KEY,
            rtype: CoreType::WriteExclusive,
        },
    ] {
        let a = PrAction { via: VIA, command };
        assert_eq!(
            PrOptions::DEFAULT.command_with(&a, Some(&fc)),
            PrOptions::DEFAULT.command(&a),
            "{command:?}"
        );
    }
}

#[test]
fn the_target_answers_register_and_move_as_any_pr_out() {
    let fc = fc_tid(7);
    let sent = PrOptions::DEFAULT
        .command_with(&mv(CoreType::WriteExclusive, 1), Some(&fc))
        .unwrap();
    let decode =
        |resp: &ScsiResponse<'_>| match PrOptions::DEFAULT.decode(&sent, resp).unwrap().step {
            PrStep::Answer(a) => a.reply(Some(KEY)),
            PrStep::Resend(c) => {
                assert_eq!(
                    c,
                    ScsiCommand {
                        kind: CommandKind::Reservation {
                            command: mv(CoreType::WriteExclusive, 1).command,
                            attempt: 2
                        },
                        ..sent
                    },
                    "the same bytes again"
                );
                PrReply::PathFailed
            }
        };
    assert_eq!(decode(&ScsiResponse::GOOD), PrReply::Done);
    assert_eq!(
        decode(&ScsiResponse::status(status::RESERVATION_CONFLICT)),
        PrReply::Conflict
    );
    // tgt: ILLEGAL REQUEST, INVALID FIELD IN CDB.
    let illegal = sense(SenseKey::IllegalRequest, 0x24, 0);
    assert_eq!(
        decode(&ScsiResponse::check_condition(&illegal)),
        PrReply::Refused
    );
    // A unit attention: the same command, TransportID included, again.
    let ua = sense(SenseKey::UnitAttention, 0x2A, 0x03);
    assert_eq!(
        decode(&ScsiResponse::check_condition(&ua)),
        PrReply::PathFailed
    );
}

fn sense(key: SenseKey, asc: u8, ascq: u8) -> Vec<u8> {
    let r = SenseRepr::new(SenseFormat::Fixed, key, asc, ascq);
    let mut b = vec![0u8; r.buffer_len()];
    let n = r.emit(&mut b).unwrap();
    b.truncate(n);
    b
}

#[test]
fn the_adapter_builds_it_for_its_own_paths_only() {
    use crate::designator::{Association, CodeSet, Designation, Designator};
    use crate::identity::LuName;
    use crate::transport_id::ProtocolId;
    let naa = [
        0x60, 0x01, 0x40, 0x50, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
    ];
    let lu = LuName::from_designation(&Designation {
        piv: false,
        protocol_id: ProtocolId::FCP,
        code_set: CodeSet::Binary,
        association: Association::LogicalUnit,
        designator: Designator::Naa(&naa),
    })
    .unwrap();
    let ad = ScsiAdapter::<4>::new(lu);
    let fc = fc_tid(7);
    let a = mv(CoreType::WriteExclusive, 1);
    assert_eq!(
        ad.pr_command_with(&a, Some(&fc)),
        Err(AdapterError::UnknownPath(VIA))
    );
    assert_eq!(ad.pr_command(&a), Err(AdapterError::UnknownPath(VIA)));
}
